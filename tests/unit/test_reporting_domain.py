"""The reporting read model: subtree counts in business time, in any event order."""
import random
from datetime import date, datetime, timedelta, timezone
from itertools import permutations

import pytest

from lianxin.catalog import CATALOG
from lianxin.envelope import BUSINESS_TZ
from lianxin.errors import NotFound
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
    assert totals(model, "other") == {"total": 1, "by_stage": {
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
