"""Membership's daily job, transfers, intake and the household chart, over a
real MembershipStore on a fresh embedded database per test.

What each use case records is read back from the outboxes (the events the
relay would publish) and from the notify recorder (what it was told)."""
from datetime import date, datetime, timezone
from uuid import uuid4

import pytest

from lianxin.catalog import CATALOG
from lianxin.commands import load
from lianxin.envelope import encode
from lianxin.errors import Conflict, InvalidInput, NotFound
from services.membership import handlers
from services.membership.schemas import COMMANDS
from services.membership.store import MembershipStore
from tests.support.fakes import membership_store

TODAY = date(2018, 12, 31)
UNITS = [
    {"id": "wgz", "name": "王哥庄街道", "level": "street", "parent_id": None},
    {"id": "wgz-c1", "name": "港东社区", "level": "community", "parent_id": "wgz"},
    {"id": "wgz-c1-g1", "name": "港东一网格", "level": "grid", "parent_id": "wgz-c1"},
    {"id": "wgz-c2", "name": "晓望社区", "level": "community", "parent_id": "wgz"},
]
PARTY_ORGS = [
    {"id": "b1", "name": "港东社区党支部", "kind": "branch", "parent_id": None, "org_unit_id": "wgz-c1"},
    {"id": "b1b", "name": "港东社区第二党支部", "kind": "branch", "parent_id": None, "org_unit_id": "wgz-c1"},
    {"id": "b2", "name": "晓望社区党支部", "kind": "branch", "parent_id": None, "org_unit_id": "wgz-c2"},
]


@pytest.fixture
def store(notified):
    store = membership_store(notified)
    for unit in UNITS:
        handlers.create_org_unit(store, dict(unit))
    for org in PARTY_ORGS:
        handlers.create_party_org(store, dict(org))
    return store


def member(store, member_id="m1", today=TODAY, **overrides):
    command = {"id": member_id, "name": "张三", "gender": "male", "birth_date": date(1970, 5, 1),
               "org_unit_id": "wgz-c1", "branch_id": "b1", "stage": "full", "stage_since": None,
               "admitted_on": date(1995, 7, 1), "id_number": None, "phone": None}
    command.update(overrides)
    return handlers.register_member(store, command, today)


def link(store, household_id="h1", member_id="m1", on=date(2018, 3, 1), link_id=None, today=TODAY):
    command = {"id": link_id or f"l-{household_id}-{member_id}", "member_id": member_id,
               "household_id": household_id, "address": f"{household_id} 号", "linked_on": on}
    return handlers.link_household(store, command, today)


def transfer(store, on, to_unit="wgz-c2", to_branch="b2", valid_days=90, transfer_id="t1", today=TODAY):
    command = {"id": transfer_id, "to_org_unit_id": to_unit, "to_branch_id": to_branch, "issued_on": on,
               "valid_days": valid_days}
    return handlers.issue_transfer(store, "m1", command, today)


def outbox_types(store, collection, doc_id):
    doc = store.db[collection].find_one({"_id": doc_id})
    return [e["envelope"]["event_type"] for e in doc.get("outbox", [])]


def pending(store):
    return sorted(e["event_id"] for _, _, e, _ in store.db.pending_events())


def intake_event(event_type, data, event_id=None):
    body = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}
    return CATALOG.validate_intake(encode({
        "event_id": event_id or str(uuid4()), "event_type": event_type, "schema_version": 1,
        "occurred_at": "2018-06-12T09:30:00+08:00", "source": "grid-app",
        "org_unit_id": data.get("org_unit_id"), "data": body,
    }))


# -- the daily job ---------------------------------------------------------------------------

def test_daily_expires_an_overdue_letter_and_announces_a_birthday_once_across_two_runs(store, notified):
    member(store)                                              # political birthday 1 July
    member(store, "m2", stage="applicant", admitted_on=None, stage_since=date(2018, 1, 1))
    transfer(store, date(2018, 3, 1), valid_days=30, today=date(2018, 3, 1))
    day = date(2018, 6, 26)

    first = handlers.daily(store, day)
    second = handlers.daily(store, day)

    assert first == {"transfers_expired": 1, "birthdays_due": 1, "links_ended": 0}
    assert second == {"transfers_expired": 0, "birthdays_due": 0, "links_ended": 0}
    assert outbox_types(store, "members", "m1") == [
        "member_registered", "member_transfer_issued", "member_transfer_expired", "political_birthday_due"]
    assert outbox_types(store, "members", "m2") == ["member_registered"]
    assert notified.types("member_transfer_expired") == ["member_transfer_expired"]
    assert notified.types("political_birthday_due") == ["political_birthday_due"]
    [due] = [e for _, _, e, _ in store.db.pending_events() if e["event_type"] == "political_birthday_due"]
    assert due["data"] == {"member_id": "m1", "org_unit_id": "wgz-c1", "admitted_on": "1995-07-01",
                           "anniversary_on": "2018-07-01", "years": 23}
    m1 = store.get_member("m1")
    assert (m1.transfer("t1").state, m1.transfer("t1").closed_on) == ("expired", date(2018, 3, 31))
    assert m1.org_unit_id == "wgz-c1" and m1.birthday_notified_year == 2018


def test_daily_announces_the_birthday_again_the_next_year(store, notified):
    member(store)
    assert handlers.daily(store, date(2018, 6, 30))["birthdays_due"] == 1
    assert handlers.daily(store, date(2018, 7, 1))["birthdays_due"] == 0
    assert handlers.daily(store, date(2019, 6, 24))["birthdays_due"] == 1
    assert notified.types("political_birthday_due") == ["political_birthday_due"] * 2


def test_leaving_ends_the_members_household_links_at_once(store):
    member(store)
    link(store, "h1")
    link(store, "h2")
    handlers.change_status(store, "m1", {"status": "deceased", "effective_on": date(2018, 12, 1), "reason": "病故"},
                           TODAY)
    for household_id in ("h1", "h2"):
        household = store.get_household(household_id)
        assert household.current is None
        assert household.links[0].reason == "member deceased"
        assert outbox_types(store, "households", household_id) == ["household_linked", "household_unlinked"]
    assert store.households_of_member("m1") == []
    assert handlers.daily(store, TODAY)["links_ended"] == 0


def test_leaving_ends_the_links_on_the_day_the_member_left(store):
    member(store)
    link(store, "h1")
    handlers.change_status(store, "m1", {"status": "deceased", "effective_on": date(2018, 12, 1), "reason": "病故"},
                           TODAY)
    assert store.get_household("h1").links[0].unlinked_on == date(2018, 12, 1)


def test_daily_ends_a_link_left_behind_by_a_member_who_left(store, notified):
    member(store)
    link(store, "h1")
    # The member's write happened but the links' did not (an interrupted second write).
    store.db["members"].update_one({"_id": "m1"}, {"$set": {
        "status": "deceased", "status_since": datetime(2018, 12, 1, tzinfo=timezone.utc)}})
    assert store.get_household("h1").current.member_id == "m1"

    assert handlers.daily(store, TODAY) == {"transfers_expired": 0, "birthdays_due": 0, "links_ended": 1}
    assert handlers.daily(store, TODAY)["links_ended"] == 0

    ended = store.get_household("h1").links[0]
    assert (ended.unlinked_on, ended.reason) == (date(2018, 12, 1), "member deceased")
    assert notified.types("household_unlinked") == ["household_unlinked"]
    assert outbox_types(store, "households", "h1") == ["household_linked", "household_unlinked"]


def test_the_open_letter_of_a_member_who_left_does_not_stay_open_forever(store):
    member(store)
    transfer(store, date(2018, 10, 1), valid_days=30)
    try:
        handlers.change_status(store, "m1", {"status": "deceased", "effective_on": date(2018, 10, 10),
                                             "reason": "病故"}, TODAY)
    except Conflict:
        pass  # refusing to leave with an open letter would be a fix too
    handlers.daily(store, TODAY)
    assert store.get_member("m1").transfer("t1").state != "issued"


# -- transfers and household links -----------------------------------------------------------------

def test_receiving_a_transfer_moves_the_member_and_ends_its_links_in_the_old_unit(store, notified):
    member(store)
    link(store, "h1")
    transfer(store, date(2018, 11, 1))
    reply = handlers.receive_transfer(store, "t1", {"received_on": date(2018, 11, 20)}, TODAY)

    assert reply["status"] == 200
    assert reply["body"]["transfer"]["state"] == "received"
    moved = store.get_member("m1")
    assert (moved.org_unit_id, moved.branch_id) == ("wgz-c2", "b2")
    ended = store.get_household("h1")
    assert ended.org_unit_id == "wgz-c1" and ended.current is None
    assert (ended.links[0].unlinked_on, ended.links[0].reason) == (date(2018, 11, 20), "member transferred to wgz-c2")
    [unlinked] = [e for _, _, events in notified.calls for e in events if e["event_type"] == "household_unlinked"]
    assert unlinked["org_unit_id"] == "wgz-c1" and unlinked["data"]["unlinked_on"] == "2018-11-20"
    assert outbox_types(store, "members", "m1")[-1] == "member_transfer_completed"
    assert handlers.daily(store, TODAY)["links_ended"] == 0


def test_transfer_to_another_branch_of_the_same_unit_keeps_the_links(store):
    member(store)
    link(store, "h1")
    transfer(store, date(2018, 11, 1), to_unit="wgz-c1", to_branch="b1b")
    handlers.receive_transfer(store, "t1", {"received_on": date(2018, 11, 20)}, TODAY)
    assert store.get_member("m1").branch_id == "b1b"
    assert store.get_household("h1").current.member_id == "m1"


def test_household_chart_lists_members_with_their_households_and_totals(store):
    member(store, "m1")
    member(store, "m2", org_unit_id="wgz-c1-g1", branch_id=None)
    member(store, "m3")
    member(store, "m4")
    member(store, "m9", org_unit_id="wgz-c2", branch_id="b2")
    link(store, "h1", "m1")
    link(store, "h2", "m1", on=date(2018, 4, 1))
    link(store, "h3", "m2")
    link(store, "h4", "m4")
    link(store, "h9", "m9")
    handlers.change_status(store, "m4", {"status": "deceased", "effective_on": date(2018, 12, 1), "reason": "病故"},
                           TODAY)

    chart = handlers.household_chart(store, "wgz-c1")
    assert chart["status"] == 200
    body = chart["body"]
    assert body["org_unit"]["id"] == "wgz-c1"
    by_member = {m["member_id"]: m for m in body["members"]}
    assert sorted(by_member) == ["m1", "m2", "m3"]
    assert [(h["household_id"], h["linked_on"]) for h in by_member["m1"]["households"]] == [
        ("h1", "2018-03-01"), ("h2", "2018-04-01")]
    assert by_member["m1"]["households"][0] == {"household_id": "h1", "address": "h1 号", "link_id": "l-h1-m1",
                                                "linked_on": "2018-03-01"}
    assert [h["household_id"] for h in by_member["m2"]["households"]] == ["h3"]
    assert by_member["m2"]["org_unit_id"] == "wgz-c1-g1"
    assert by_member["m3"]["households"] == []
    assert body["unlinked_households"] == [{"household_id": "h4", "address": "h4 号"}]
    assert body["totals"] == {"members": 3, "linked_households": 3, "members_with_households": 2}

    street = handlers.household_chart(store, "wgz")["body"]["totals"]
    assert street == {"members": 4, "linked_households": 4, "members_with_households": 3}
    with pytest.raises(NotFound):
        handlers.household_chart(store, "nowhere")


# -- intake ------------------------------------------------------------------------------------------

def test_stage_change_intake_applied_twice_is_ok_then_duplicate_with_one_change(store, notified):
    member(store, stage="candidate", admitted_on=None, stage_since=date(2017, 6, 1))
    event = intake_event("member_stage_changed", {"member_id": "m1", "stage": "probationary",
                                                  "effective_on": date(2018, 7, 1)})

    results = handlers.intake(store, [event, event], TODAY)
    again = handlers.intake(store, [event], TODAY)

    assert [r.outcome for r in results + again] == ["ok", "duplicate", "duplicate"]
    changed = store.get_member("m1")
    assert changed.stage == "probationary" and changed.admitted_on == date(2018, 7, 1)
    assert changed.stage_history == (("candidate", date(2017, 6, 1)), ("probationary", date(2018, 7, 1)))
    assert outbox_types(store, "members", "m1") == ["member_registered", "member_stage_changed"]
    assert notified.types("member_stage_changed") == ["member_stage_changed"]
    assert store.applied_events("m1") == [event.event_id]


def test_stage_change_intake_outcomes_for_unknown_member_and_broken_rule(store):
    member(store, stage="candidate", admitted_on=None, stage_since=date(2017, 6, 1))
    unknown = intake_event("member_stage_changed", {"member_id": "m-later", "stage": "activist",
                                                    "effective_on": date(2018, 7, 1)})
    skipping = intake_event("member_stage_changed", {"member_id": "m1", "stage": "full",
                                                     "effective_on": date(2018, 7, 1)})
    results = handlers.intake(store, [unknown, skipping], TODAY)
    assert [r.outcome for r in results] == ["retry", "reject"]
    assert results[1].errors == {"stage": ["must be probationary"]}
    assert outbox_types(store, "members", "m1") == ["member_registered"]


def test_household_link_intake_twice_is_ok_then_duplicate(store, notified):
    member(store)
    event = intake_event("household_linked", {"member_id": "m1", "household_id": "h1", "address": "港东村1号",
                                              "linked_on": date(2018, 3, 1)})

    results = handlers.intake(store, [event, event], TODAY)

    assert [r.outcome for r in results] == ["ok", "duplicate"]
    household = store.get_household("h1")
    assert [(l.id, l.member_id, l.linked_on) for l in household.links] == [(event.event_id, "m1", date(2018, 3, 1))]
    assert outbox_types(store, "households", "h1") == ["household_linked"]
    assert notified.types("household_linked") == ["household_linked"]


def test_household_link_intake_for_an_already_linked_household_is_rejected(store):
    member(store)
    member(store, "m3")
    link(store, "h1", "m1")
    event = intake_event("household_linked", {"member_id": "m3", "household_id": "h1"})
    [result] = handlers.intake(store, [event], TODAY)
    assert result.outcome == "reject"
    assert result.errors == {"household_id": ["already linked; unlink it first"]}


# -- refusals record nothing -------------------------------------------------------------------------------

def test_refused_commands_leave_no_event_in_any_outbox(store, notified):
    member(store)
    member(store, "m2", stage="activist", admitted_on=None, stage_since=date(2018, 6, 1))
    link(store, "h1")
    transfer(store, date(2018, 9, 1), valid_days=30)
    before, calls, docs = pending(store), len(notified.calls), {
        name: list(store.db[name].find({}, {"outbox.recorded_at": 0})) for name in MembershipStore.OUTBOX_COLLECTIONS}

    refusals = [
        (Conflict, lambda: handlers.change_stage(store, "m2", {"stage": "probationary",
                                                               "effective_on": date(2018, 12, 1)}, TODAY)),
        (InvalidInput, lambda: handlers.change_stage(store, "m2", {"stage": "candidate",
                                                                   "effective_on": date(2018, 12, 1)}, TODAY)),
        (InvalidInput, lambda: handlers.change_stage(store, "m2", {"stage": "candidate",
                                                                   "effective_on": date(2019, 7, 1)}, TODAY)),
        (Conflict, lambda: handlers.change_stage(store, "m1", {"stage": "full", "effective_on": TODAY}, TODAY)),
        (NotFound, lambda: handlers.change_stage(store, "nobody", {"stage": "full", "effective_on": TODAY}, TODAY)),
        (Conflict, lambda: handlers.extend_probation(store, "m1", {"months": 6, "decided_on": TODAY}, TODAY)),
        (Conflict, lambda: handlers.change_status(store, "m1", {"status": "active", "effective_on": TODAY,
                                                                "reason": "x"}, TODAY)),
        (Conflict, lambda: handlers.change_status(store, "m1", {"status": "transferred_out", "effective_on": TODAY,
                                                                "reason": "x"}, TODAY)),
        (Conflict, lambda: handlers.issue_transfer(store, "m1", {"id": "t2", "to_org_unit_id": "wgz-c2",
                                                                 "issued_on": TODAY}, TODAY)),
        (NotFound, lambda: handlers.issue_transfer(store, "m2", {"id": "t3", "to_org_unit_id": "nowhere",
                                                                 "issued_on": TODAY}, TODAY)),
        (Conflict, lambda: handlers.issue_transfer(store, "m2", {"id": "t4", "to_org_unit_id": "wgz-c1",
                                                                 "to_branch_id": "b1", "issued_on": TODAY}, TODAY)),
        (InvalidInput, lambda: handlers.receive_transfer(store, "t1", {"received_on": date(2018, 10, 2)}, TODAY)),
        (NotFound, lambda: handlers.receive_transfer(store, "t9", {"received_on": TODAY}, TODAY)),
        (Conflict, lambda: link(store, "h1", "m2", on=TODAY)),
        (NotFound, lambda: link(store, "h5", "nobody")),
        (InvalidInput, lambda: handlers.unlink_household(store, "l-h1-m1", {"unlinked_on": date(2018, 2, 1)}, TODAY)),
        (NotFound, lambda: handlers.unlink_household(store, "l-none", {"unlinked_on": TODAY}, TODAY)),
        (Conflict, lambda: handlers.delete_org_unit(store, "wgz-c1", TODAY)),
        (Conflict, lambda: handlers.delete_org_unit(store, "wgz", TODAY)),
        (Conflict, lambda: handlers.move_org_unit(store, "wgz-c1", {"parent_id": "wgz-c1-g1",
                                                                    "moved_on": TODAY}, TODAY)),
        (InvalidInput, lambda: handlers.move_org_unit(store, "wgz-c1", {"parent_id": "wgz-c2",
                                                                        "moved_on": TODAY}, TODAY)),
        (Conflict, lambda: handlers.rename_org_unit(store, "wgz-c1", {"name": "港东社区", "renamed_on": TODAY}, TODAY)),
        (NotFound, lambda: handlers.create_party_org(store, {"id": "bx", "name": "x", "kind": "branch",
                                                              "parent_id": None, "org_unit_id": "nowhere"})),
        (InvalidInput, lambda: handlers.register_member(store, {
            "id": "m-young", "name": "李四", "gender": "female", "birth_date": date(2005, 1, 1),
            "org_unit_id": "wgz-c1", "stage": "applicant", "stage_since": None, "admitted_on": None}, TODAY)),
        (NotFound, lambda: handlers.register_member(store, {
            "id": "m-lost", "name": "李四", "gender": "female", "birth_date": date(1980, 1, 1),
            "org_unit_id": "nowhere", "stage": "applicant", "stage_since": None, "admitted_on": None}, TODAY)),
    ]
    for error, action in refusals:
        with pytest.raises(error):
            action()
    # A wrong ID checksum is refused at the edge, before any handler runs.
    with pytest.raises(InvalidInput) as info:
        load(COMMANDS["register_member"], {"name": "李四", "gender": "female", "birth_date": "1980-01-01",
                                           "org_unit_id": "wgz-c1", "stage": "applicant",
                                           "id_number": "110105194912310021"})
    assert info.value.errors == {"id_number": ["checksum digit is wrong"]}

    assert pending(store) == before
    assert len(notified.calls) == calls
    assert {name: list(store.db[name].find({}, {"outbox.recorded_at": 0}))
            for name in MembershipStore.OUTBOX_COLLECTIONS} == docs
