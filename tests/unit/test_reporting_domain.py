"""The reporting read model: subtree counts in business time, in any event order."""
import random
import uuid
from datetime import date, datetime, timedelta, timezone
from itertools import permutations

import pytest

from lianxin.catalog import CATALOG
from lianxin.envelope import BUSINESS_TZ
from lianxin.errors import InvalidInput, NotFound
from services.reporting.domain import ReportModel

YEAR_2018 = (date(2018, 1, 1), date(2018, 12, 31))
OCCURRED = datetime(2018, 6, 12, 9, 30, tzinfo=BUSINESS_TZ)


def event(event_type, data, org_unit_id, occurred_at=OCCURRED):
    return CATALOG.validate(CATALOG.new_event(event_type, data, source="membership",
                                              org_unit_id=org_unit_id, occurred_at=occurred_at))


def unit(unit_id, level, parent_id=None, occurred_at=OCCURRED):
    return event("org_unit_created", {"org_unit_id": unit_id, "name": unit_id, "level": level,
                                      "parent_id": parent_id}, unit_id, occurred_at)


def member(member_id, org_unit_id, stage="full", admitted_on=date(2000, 7, 1), stage_since=None):
    since = stage_since or (admitted_on.replace(year=admitted_on.year + 1) if stage == "full" else admitted_on)
    return event("member_registered", {
        "member_id": member_id, "name": member_id, "gender": "female", "birth_date": date(1970, 1, 1),
        "org_unit_id": org_unit_id, "stage": stage, "stage_since": since, "admitted_on": admitted_on,
    }, org_unit_id)


def tree():
    return [unit("laoshan", "district"), unit("wgz", "street", "laoshan"), unit("c1", "community", "wgz"),
            unit("c2", "community", "wgz"), unit("g1", "grid", "c1"), unit("other", "street", "laoshan")]


def model_of(events) -> ReportModel:
    model = ReportModel()
    model.apply(list(events))
    return model


def totals(model, unit_id, period=YEAR_2018):
    return model.summary(unit_id, *period)["members"]


def test_members_counted_in_the_subtree_and_not_outside():
    model = model_of(tree() + [member("m1", "c1"), member("m2", "g1"), member("m3", "c2"),
                               member("m4", "other", stage="probationary", admitted_on=date(2018, 3, 1))])
    assert totals(model, "wgz")["total"] == 3
    assert totals(model, "c1")["total"] == 2
    assert totals(model, "g1")["total"] == 1
    assert totals(model, "other") == {"total": 1, "party_members": 1, "by_stage": {
        "applicant": 0, "activist": 0, "candidate": 0, "probationary": 1, "full": 0}}
    assert totals(model, "laoshan")["total"] == 4


def test_summary_has_the_api_shape():
    summary = model_of(tree()).summary("wgz", *YEAR_2018)
    assert summary["org_unit_id"] == "wgz"
    assert (summary["from"], summary["to"]) == ("2018-01-01", "2018-12-31")
    assert {"members", "household_links", "deeds", "activities", "lecture_series", "inspections",
            "honours", "cases"} <= set(summary)


def test_member_counts_from_admission_date():
    model = model_of(tree() + [member("m2019", "c1", stage="probationary", admitted_on=date(2019, 3, 1)),
                               member("m2018", "c1", stage="probationary", admitted_on=date(2018, 12, 31))])
    assert totals(model, "wgz")["total"] == 1
    assert totals(model, "wgz", (date(2019, 1, 1), date(2019, 12, 31)))["total"] == 2
    assert totals(model, "wgz", (date(2017, 1, 1), date(2017, 12, 31)))["total"] == 0


def test_not_yet_admitted_member_counts_from_stage_date():
    model = model_of(tree() + [event("member_registered", {
        "member_id": "a1", "name": "a1", "gender": "male", "birth_date": date(1990, 1, 1),
        "org_unit_id": "c1", "stage": "applicant", "stage_since": date(2018, 5, 1), "admitted_on": None,
    }, "c1")])
    assert totals(model, "c1")["by_stage"]["applicant"] == 1
    assert totals(model, "c1", (date(2018, 1, 1), date(2018, 4, 30)))["total"] == 0


def test_summary_is_the_same_in_every_event_order():
    events = [unit("wgz", "street"), unit("c1", "community", "wgz"), unit("g1", "grid", "c1"),
              member("m1", "g1"), member("m2", "c1", stage="probationary", admitted_on=date(2018, 2, 1))]
    expected = model_of(events).summary("wgz", *YEAR_2018)
    assert expected["members"]["total"] == 2
    for order in permutations(events):
        model = model_of(order)
        assert model.summary("wgz", *YEAR_2018) == expected
        assert model.summary("c1", *YEAR_2018) == model_of(events).summary("c1", *YEAR_2018)


def test_summary_is_the_same_for_shuffled_larger_history():
    events = tree() + [member(f"m{i}", ("c1", "c2", "g1", "other")[i % 4],
                              admitted_on=date(1990 + i % 30, 7, 1)) for i in range(40)]
    expected = {u: model_of(events).summary(u, *YEAR_2018) for u in ("laoshan", "wgz", "c1", "g1")}
    rng = random.Random(20180612)
    for _ in range(20):
        shuffled = events[:]
        rng.shuffle(shuffled)
        model = model_of(shuffled)
        assert {u: model.summary(u, *YEAR_2018) for u in expected} == expected


def test_unit_known_only_as_a_parent_has_a_subtree():
    model = model_of([unit("c1", "community", "wgz"), member("m1", "c1")])
    assert totals(model, "wgz")["total"] == 1


def test_unknown_org_unit_is_not_found():
    with pytest.raises(NotFound) as info:
        model_of(tree()).summary("nowhere", *YEAR_2018)
    assert list(info.value.errors) == ["org_unit_id"]


def test_apply_counts_events_and_keeps_last_occurred_at():
    model = ReportModel()
    model.apply(tree())
    assert model.applied == 6
    assert model.last_occurred_at == OCCURRED


def test_last_occurred_at_is_the_latest_instant_whatever_the_offset():
    earlier = datetime(2018, 6, 12, 10, 0, tzinfo=BUSINESS_TZ)          # 02:00Z
    later = datetime(2018, 6, 12, 3, 0, tzinfo=timezone.utc)            # 11:00+08:00
    model = model_of([unit("a", "street", occurred_at=later), unit("b", "street", occurred_at=earlier)])
    assert later - earlier == timedelta(hours=1)
    assert model.last_occurred_at == later


# -- the whole membership language ---------------------------------------------------------

def D(text: str) -> date:
    return date.fromisoformat(text)


def upto(day: str) -> tuple[date, date]:
    """A period ending on `day`: stock figures are counted on the period's end."""
    end = D(day)
    return date(end.year, 1, 1), end


def not_admitted(member_id, org_unit_id, stage, since):
    return event("member_registered", {
        "member_id": member_id, "name": member_id, "gender": "male", "birth_date": date(1980, 1, 1),
        "org_unit_id": org_unit_id, "stage": stage, "stage_since": D(since), "admitted_on": None,
    }, org_unit_id)


def stage_changed(member_id, org_unit_id, from_stage, stage, on, admitted_on=None):
    return event("member_stage_changed", {
        "member_id": member_id, "org_unit_id": org_unit_id, "from_stage": from_stage, "stage": stage,
        "effective_on": D(on), "admitted_on": D(admitted_on) if admitted_on else None}, org_unit_id)


def status_changed(member_id, org_unit_id, from_status, status, on):
    return event("member_status_changed", {
        "member_id": member_id, "org_unit_id": org_unit_id, "from_status": from_status, "status": status,
        "effective_on": D(on), "reason": f"{from_status} -> {status}"}, org_unit_id)


def transfer_issued(transfer_id, member_id, from_unit, to_unit, on, valid_until):
    return event("member_transfer_issued", {
        "transfer_id": transfer_id, "member_id": member_id, "from_org_unit_id": from_unit,
        "to_org_unit_id": to_unit, "from_branch_id": None, "to_branch_id": None,
        "issued_on": D(on), "valid_until": D(valid_until)}, from_unit)


def transfer_completed(transfer_id, member_id, from_unit, to_unit, on):
    return event("member_transfer_completed", {
        "transfer_id": transfer_id, "member_id": member_id, "from_org_unit_id": from_unit,
        "to_org_unit_id": to_unit, "to_branch_id": None, "received_on": D(on)}, to_unit)


def transfer_expired(transfer_id, member_id, from_unit, to_unit, valid_until):
    return event("member_transfer_expired", {
        "transfer_id": transfer_id, "member_id": member_id, "from_org_unit_id": from_unit,
        "to_org_unit_id": to_unit, "valid_until": D(valid_until)}, from_unit)


def probation_extended(member_id, org_unit_id, decided_on, ends_on):
    return event("member_probation_extended", {
        "member_id": member_id, "org_unit_id": org_unit_id, "months": 6, "decided_on": D(decided_on),
        "probation_ends_on": D(ends_on)}, org_unit_id)


def birthday_due(member_id, org_unit_id, admitted_on, anniversary_on):
    return event("political_birthday_due", {
        "member_id": member_id, "org_unit_id": org_unit_id, "admitted_on": D(admitted_on),
        "anniversary_on": D(anniversary_on), "years": D(anniversary_on).year - D(admitted_on).year}, org_unit_id)


def moved(unit_id, from_parent, to_parent, on):
    return event("org_unit_moved", {"org_unit_id": unit_id, "from_parent_id": from_parent,
                                    "to_parent_id": to_parent, "moved_on": D(on)}, unit_id)


def renamed(unit_id, old_name, name, on):
    return event("org_unit_renamed", {"org_unit_id": unit_id, "old_name": old_name, "name": name,
                                      "renamed_on": D(on)}, unit_id)


def deleted(unit_id, on="2018-06-30"):
    return event("org_unit_deleted", {"org_unit_id": unit_id, "deleted_on": D(on)}, unit_id)


def party_org(org_id, kind, org_unit_id, parent_id=None):
    return event("party_org_created", {"party_org_id": org_id, "name": f"{org_id}党支部", "kind": kind,
                                       "parent_id": parent_id, "org_unit_id": org_unit_id}, org_unit_id)


def linked(link_id, member_id, household_id, org_unit_id, on):
    return event("household_linked", {"link_id": link_id, "member_id": member_id, "household_id": household_id,
                                      "org_unit_id": org_unit_id, "address": None, "linked_on": D(on)}, org_unit_id)


def unlinked(link_id, member_id, household_id, org_unit_id, on):
    return event("household_unlinked", {"link_id": link_id, "member_id": member_id,
                                        "household_id": household_id, "org_unit_id": org_unit_id,
                                        "unlinked_on": D(on), "reason": None}, org_unit_id)


def twin(e):
    """Another event (its own event_id) with the very same data."""
    return CATALOG.validate({**e.envelope, "event_id": str(uuid.uuid4())})


def zones():
    """wgz street with two zones; ca, ca2 (grid g under ca2) in zone za, cb in zone zb."""
    return [unit("laoshan", "district"), unit("wgz", "street", "laoshan"),
            unit("za", "zone", "wgz"), unit("zb", "zone", "wgz"),
            unit("ca", "community", "za"), unit("ca2", "community", "za"), unit("g", "grid", "ca2"),
            unit("cb", "community", "zb")]


def stages_on(model, unit_id, day):
    return {k: v for k, v in totals(model, unit_id, upto(day))["by_stage"].items() if v}


def links_on(model, unit_id, day):
    return model.summary(unit_id, *upto(day))["household_links"]


def test_stage_timeline_counts_the_stage_in_force_on_the_end_date():
    history = [not_admitted("m", "ca", "candidate", "2016-03-01"),
               stage_changed("m", "ca", "candidate", "probationary", "2017-05-01", admitted_on="2017-05-01"),
               stage_changed("m", "ca", "probationary", "full", "2018-05-01")]
    for order in permutations(history):
        model = model_of(zones() + list(order))
        assert stages_on(model, "wgz", "2016-02-29") == {}
        assert stages_on(model, "wgz", "2016-03-01") == {"candidate": 1}
        assert stages_on(model, "wgz", "2017-04-30") == {"candidate": 1}
        assert stages_on(model, "wgz", "2017-05-01") == {"probationary": 1}
        assert stages_on(model, "wgz", "2018-04-30") == {"probationary": 1}
        assert stages_on(model, "wgz", "2018-05-01") == {"full": 1}
        assert model.members["m"].admitted_on == D("2017-05-01")


def test_stage_change_on_the_registration_date_wins():
    model = model_of(zones() + [not_admitted("m", "ca", "activist", "2018-03-01"),
                                stage_changed("m", "ca", "activist", "candidate", "2018-03-01")])
    assert stages_on(model, "ca", "2018-03-01") == {"candidate": 1}


def test_full_member_is_probationary_between_admission_and_full_membership():
    model = model_of(zones() + [member("m", "ca", stage="full", admitted_on=D("2010-07-01"))])
    assert stages_on(model, "ca", "2010-06-30") == {}
    assert stages_on(model, "ca", "2010-07-01") == {"probationary": 1}
    assert stages_on(model, "ca", "2011-06-30") == {"probationary": 1}
    assert stages_on(model, "ca", "2011-07-01") == {"full": 1}


@pytest.mark.parametrize("status", ["deceased", "transferred_out", "expelled", "probation_cancelled"])
def test_a_member_who_leaves_is_counted_before_and_not_on_or_after_the_date(status):
    history = [member("m", "ca", stage="full", admitted_on=D("2000-07-01")), member("stays", "cb"),
               status_changed("m", "ca", "active", status, "2018-06-15")]
    for order in permutations(history):
        model = model_of(zones() + list(order))
        assert totals(model, "wgz", upto("2018-06-14"))["total"] == 2
        assert totals(model, "wgz", upto("2018-06-15"))["total"] == 1
        assert totals(model, "za", upto("2018-12-31"))["total"] == 0
        assert totals(model, "za", upto("2017-12-31"))["total"] == 1


def test_flowing_members_count_and_a_return_to_active_counts_again_from_its_date():
    model = model_of(zones() + [
        member("f", "ca"), status_changed("f", "ca", "active", "flowing", "2018-02-01"),
        member("r", "ca"), status_changed("r", "ca", "active", "expelled", "2018-03-01"),
        status_changed("r", "ca", "expelled", "active", "2018-09-01"),
    ])
    assert totals(model, "ca", upto("2018-02-28"))["total"] == 2
    assert totals(model, "ca", upto("2018-03-01"))["total"] == 1
    assert totals(model, "ca", upto("2018-08-31"))["total"] == 1
    assert totals(model, "ca", upto("2018-09-01"))["total"] == 2


def test_transfer_between_zones_moves_the_member_on_the_received_date():
    history = [member("m", "ca"),
               transfer_issued("t1", "m", "ca", "cb", "2018-03-01", "2018-05-30"),
               transfer_completed("t1", "m", "ca", "cb", "2018-04-10")]
    for order in permutations(history):
        model = model_of(zones() + list(order))
        before, after = upto("2018-04-09"), upto("2018-04-10")
        assert (totals(model, "za", before)["total"], totals(model, "zb", before)["total"]) == (1, 0)
        assert (totals(model, "za", after)["total"], totals(model, "zb", after)["total"]) == (0, 1)
        assert totals(model, "wgz", before)["total"] == totals(model, "wgz", after)["total"] == 1


def test_transfers_back_and_forth_follow_the_received_dates():
    model = model_of(zones() + [
        member("m", "ca"),
        transfer_completed("t2", "m", "cb", "ca", "2018-09-01"),     # arrives before the first one
        transfer_completed("t1", "m", "ca", "cb", "2018-04-10"),
    ])
    assert [totals(model, "ca", upto(day))["total"] for day in ("2018-04-09", "2018-04-10", "2018-09-01")] == [1, 0, 1]
    assert [totals(model, "cb", upto(day))["total"] for day in ("2018-04-09", "2018-04-10", "2018-09-01")] == [0, 1, 0]


def test_issued_and_expired_letters_extension_and_birthday_change_no_count():
    base = zones() + [member("m", "ca", stage="probationary", admitted_on=D("2017-07-01"))]
    noise = [transfer_issued("t1", "m", "ca", "cb", "2018-03-01", "2018-05-30"),
             transfer_expired("t1", "m", "ca", "cb", "2018-05-30"),
             probation_extended("m", "ca", "2018-06-01", "2019-01-01"),
             birthday_due("m", "ca", "2017-07-01", "2018-07-01")]
    plain, noisy = model_of(base), model_of(base + noise)
    for unit_id in ("za", "zb", "wgz"):
        for day in ("2018-03-02", "2018-06-01", "2018-12-31"):
            assert noisy.summary(unit_id, *upto(day)) == plain.summary(unit_id, *upto(day))
    facts = noisy.members["m"]
    assert [(l.transfer_id, l.state) for l in facts.letters] == [("t1", "issued"), ("t1", "expired")]
    assert [(e.months, e.probation_ends_on) for e in facts.extensions] == [(6, D("2019-01-01"))]


def test_a_moved_community_is_counted_under_its_new_zone():
    history = [member("m1", "ca2"), member("m2", "g"), member("m3", "ca"),
               moved("ca2", "za", "zb", "2018-07-01")]
    for order in permutations(history):
        model = model_of(zones() + list(order))
        for day in ("2018-12-31", "2018-01-31"):       # the current tree, whatever the period
            assert totals(model, "zb", upto(day))["total"] == 2
            assert totals(model, "za", upto(day))["total"] == 1
            assert totals(model, "wgz", upto(day))["total"] == 3
        assert set(model.subtree("zb")) == {"zb", "cb", "ca2", "g"}


def test_the_latest_move_wins_whatever_the_arrival_order():
    moves = [moved("ca2", "za", "zb", "2018-03-01"), moved("ca2", "zb", "za", "2018-08-01")]
    for order in permutations(moves):
        model = model_of(zones() + [member("m", "ca2")] + list(order))
        assert (totals(model, "za")["total"], totals(model, "zb")["total"]) == (1, 0)
        assert model.units["ca2"].parent_id == "za"


def test_rename_keeps_the_current_name_in_any_order():
    renames = [renamed("ca", "ca", "青山社区", "2015-01-01"), renamed("ca", "青山社区", "青山新社区", "2018-01-01")]
    for order in permutations(renames + [unit("ca", "community", "za")]):
        model = model_of(order)
        assert model.units["ca"].name == "青山新社区"
        assert model.units["ca"].level == "community"


def test_a_deleted_unit_cannot_be_queried_but_its_history_counts_in_its_parent():
    # m1 was in zc until transferred out in 2017; then zc was emptied and deleted.
    history = [unit("zc", "zone", "wgz"), deleted("zc"),
               member("m1", "zc"), transfer_completed("t1", "m1", "zc", "ca", "2017-03-01")]
    for order in permutations(history):
        model = model_of(zones() + list(order))
        assert "zc" in model.subtree("wgz")
        with pytest.raises(NotFound):
            model.summary("zc", *YEAR_2018)
        assert model.summary("wgz", date(2016, 1, 1), date(2016, 12, 31))["members"]["total"] == 1
        assert model.summary("ca", date(2016, 1, 1), date(2016, 12, 31))["members"]["total"] == 0
        assert model.summary("ca", *YEAR_2018)["members"]["total"] == 1


def test_party_orgs_are_kept():
    model = model_of(zones() + [party_org("p-wgz", "working_committee", "wgz"),
                                party_org("p-ca", "branch", "ca", parent_id="p-wgz")])
    org = model.party_orgs["p-ca"]
    assert (org.kind, org.name, org.parent_id, org.org_unit_id) == ("branch", "p-ca党支部", "p-wgz", "ca")


def test_household_link_counts_from_linked_on_until_unlinked_on():
    history = [member("m", "ca"), linked("l1", "m", "h1", "ca", "2018-03-01"),
               unlinked("l1", "m", "h1", "ca", "2018-09-01")]
    for order in permutations(history):
        model = model_of(zones() + list(order))
        assert [links_on(model, "wgz", day) for day in ("2018-02-28", "2018-03-01", "2018-08-31", "2018-09-01")] \
            == [0, 1, 1, 0]
        assert links_on(model, "zb", "2018-06-01") == 0


def test_a_household_relinked_to_another_member_counts_once():
    history = [member("m1", "ca"), member("m2", "ca"),
               linked("l1", "m1", "h1", "ca", "2018-01-01"), unlinked("l1", "m1", "h1", "ca", "2018-05-01"),
               linked("l2", "m2", "h1", "ca", "2018-05-01"), linked("l3", "m2", "h2", "ca", "2018-06-01")]
    for order in permutations(history):
        model = model_of(zones() + list(order))
        assert [links_on(model, "za", day) for day in ("2017-12-31", "2018-01-01", "2018-04-30", "2018-05-01",
                                                        "2018-06-01")] == [0, 1, 1, 1, 2]
        assert model.links_by_household["h1"] == {"l1", "l2"}


def test_members_and_units_known_only_later_still_land_right():
    model = model_of([member("m", "c9"), linked("l", "m", "h", "c9", "2018-01-01"),
                      unit("c9", "community", "z9"), unit("z9", "zone", "wgz"), unit("wgz", "street")])
    assert totals(model, "wgz")["total"] == 1
    assert model.summary("wgz", *YEAR_2018)["household_links"] == 1


def test_distinct_events_with_identical_data_and_reapplied_events_change_nothing():
    base = zones() + [member("m", "ca"), status_changed("m", "ca", "active", "deceased", "2018-06-15"),
                      transfer_completed("t", "m", "ca", "cb", "2018-04-10"),
                      linked("l", "m", "h", "ca", "2018-01-01"), unlinked("l", "m", "h", "ca", "2018-05-01"),
                      moved("ca2", "za", "zb", "2018-02-01")]
    twins = [twin(e) for e in base]
    expected = {(u, d): model_of(base).summary(u, *upto(d))
                for u in ("wgz", "za", "zb") for d in ("2018-03-01", "2018-04-10", "2018-06-15")}
    doubled = model_of(base + twins)
    reapplied = model_of(base)
    reapplied.apply(base)
    for model in (doubled, reapplied):
        assert {(u, d): model.summary(u, *upto(d)) for u, d in expected} == expected


def realistic_history():
    """A street's history, from old-system loads and live changes, with every membership event type."""
    events = zones() + [
        unit("zc", "zone", "wgz"), deleted("zc"), unit("other", "street", "laoshan"),
        unit("co", "community", "other"),
        renamed("cb", "cb", "海岸社区", "2017-03-01"), moved("ca2", "za", "zb", "2018-07-01"),
        party_org("p-wgz", "working_committee", "wgz"), party_org("p-ca", "branch", "ca", parent_id="p-wgz"),
    ]
    places = ("ca", "ca2", "g", "cb", "co")
    for i in range(30):                                    # full members, some admitted in 2018
        events.append(member(f"f{i}", places[i % 5], admitted_on=date(1985 + i, 1 + i % 12, 1 + i % 27)))
    for i in range(8):                                     # the pipeline
        place = places[i % 5]
        events += [not_admitted(f"p{i}", place, "activist", f"201{i % 4}-0{1 + i % 9}-15"),
                   stage_changed(f"p{i}", place, "activist", "candidate", f"2016-0{1 + i % 9}-20")]
        if i % 2:
            events.append(stage_changed(f"p{i}", place, "candidate", "probationary", f"2017-0{1 + i % 9}-10",
                                        admitted_on=f"2017-0{1 + i % 9}-10"))
        if i % 4 == 1:
            events.append(stage_changed(f"p{i}", place, "probationary", "full", f"2018-0{1 + i % 9}-10"))
        if i == 3:
            events += [probation_extended(f"p{i}", place, "2017-12-01", "2019-04-10"),
                       status_changed(f"p{i}", place, "active", "probation_cancelled", "2018-10-01")]
    events += [
        status_changed("f1", "ca2", "active", "deceased", "2018-03-15"),
        status_changed("f2", "g", "active", "flowing", "2017-05-01"),
        status_changed("f7", "cb", "active", "expelled", "2018-11-30"),
        status_changed("f8", "ca", "active", "transferred_out", "2016-02-01"),
        transfer_issued("t1", "f5", "ca", "cb", "2018-02-01", "2018-05-01"),
        transfer_completed("t1", "f5", "ca", "cb", "2018-03-01"),
        transfer_issued("t2", "f6", "ca2", "co", "2018-05-01", "2018-07-30"),
        transfer_completed("t2", "f6", "ca2", "co", "2018-06-20"),
        transfer_issued("t3", "f10", "ca", "cb", "2018-04-01", "2018-06-30"),
        transfer_expired("t3", "f10", "ca", "cb", "2018-06-30"),
        birthday_due("f12", "g", "1997-01-01", "2019-01-01"),
        linked("l1", "f0", "h1", "ca", "2017-01-01"), unlinked("l1", "f0", "h1", "ca", "2018-04-01"),
        linked("l2", "f5", "h1", "ca", "2018-04-01"),
        linked("l3", "f3", "h3", "cb", "2018-08-01"),
        linked("l4", "f4", "h4", "co", "2016-01-01"), unlinked("l4", "f4", "h4", "co", "2018-12-31"),
        linked("l5", "f1", "h5", "ca2", "2015-06-01"), unlinked("l5", "f1", "h5", "ca2", "2018-03-15"),
    ]
    # the same member registered twice by two source systems, with identical data
    events += [twin(e) for e in events if e.event_type == "member_registered" and e.data["member_id"] == "f11"]
    return events


SHUFFLE_UNITS = ("laoshan", "wgz", "za", "zb", "ca", "ca2", "g", "cb", "other")
SHUFFLE_PERIODS = [upto(d) for d in ("2015-12-31", "2016-12-31", "2017-06-30", "2018-03-15",
                                     "2018-06-30", "2018-12-30", "2018-12-31")] + [YEAR_2018]


def all_summaries(model):
    return {(u, p): model.summary(u, *p) for u in SHUFFLE_UNITS for p in SHUFFLE_PERIODS}


def test_realistic_history_gives_the_expected_figures():
    model = model_of(realistic_history())
    wgz = model.summary("wgz", *YEAR_2018)
    # 30 full + 8 in the pipeline, less those in co on the 31st (f4, f9, ..., p4, and f6 from 2018-06-20),
    # less the deceased (f1), expelled (f7), transferred out (f8) and cancelled (p3).
    outside = {m for m in model.members if model.members[m].unit_on(YEAR_2018[1]) == "co"}
    assert outside == {"f4", "f9", "f14", "f19", "f24", "f29", "f6", "p4"}
    assert wgz["members"]["total"] == 38 - len(outside) - 4 == 26
    # candidates p0, p2, p6; probationary p7; full: 23 registered full less f1, f7, f8, plus p1 and p5.
    assert {k: v for k, v in wgz["members"]["by_stage"].items() if v} == {"candidate": 3, "probationary": 1,
                                                                           "full": 22}
    assert totals(model, "other")["total"] == 8
    assert totals(model, "other", upto("2018-06-19"))["total"] == 7
    # zb now holds cb and ca2 (moved in, with g): ca2 f11 f16 f21 f26 (f1 died, f6 left for co);
    # g f2 (flowing) f12 f17 f22 f27 (f7 expelled); cb f3 f13 f18 f23 f28 + f5 (received 2018-03-01), f8 gone;
    # and p1, p6 (ca2), p2, p7 (g); p3 (cb) cancelled.
    assert totals(model, "zb")["total"] == 4 + 5 + 6 + 4 == 19
    assert totals(model, "za")["total"] == 26 - 19
    assert wgz["household_links"] == 2                             # l2 (h1 relinked) and l3
    assert model.summary("other", *YEAR_2018)["household_links"] == 0    # l4 ended on the 31st
    assert model.summary("other", *upto("2018-12-30"))["household_links"] == 1


def test_summary_is_identical_for_shuffled_realistic_histories():
    events = realistic_history()
    expected = all_summaries(model_of(events))
    rng = random.Random(1921)
    for _ in range(50):
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert all_summaries(model_of(shuffled)) == expected


def test_a_summary_without_org_unit_is_of_the_one_top_unit():
    model = model_of(zones() + [member("m1", "ca")])
    assert model.summary(None, *YEAR_2018)["org_unit_id"] == "laoshan"
    assert model.summary(None, *YEAR_2018)["members"]["total"] == 1
    with pytest.raises(InvalidInput):
        model_of(zones() + [unit("other", "district")]).summary(None, *YEAR_2018)
    with pytest.raises(InvalidInput):
        ReportModel().summary(None, *YEAR_2018)
