"""Reports "as of" a past business day (ReportingStore.model_as_of): only the
events that had occurred by the end of that day (Asia/Shanghai), replayed from
the in-memory history; cached models dropped when a late event arrives."""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from lianxin.catalog import CATALOG
from lianxin.envelope import BUSINESS_TZ
from lianxin.errors import NotFound
from lianxin.store import ServiceDb, client_for
from services.reporting import handlers, reports
from services.reporting.domain import ReportModel
from services.reporting.store import AS_OF_CACHE, ReportingStore, end_of_day
from tests.unit.test_reporting_reports import D, deed, tree_and_members

JUNE = (D("2018-06-01"), D("2018-06-30"))
TREE_AT = datetime(2018, 1, 2, 9, 0, tzinfo=BUSINESS_TZ)


def at(event, when: datetime):
    """The same fact, occurred at `when` (a new event id)."""
    return CATALOG.validate({**event.envelope, "event_id": str(uuid.uuid4()), "occurred_at": when.isoformat()})


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BUSINESS_TZ)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def tree() -> list:
    return [at(e, TREE_AT) for e in tree_and_members()]


def deeds() -> dict:
    return {
        "dA": deed("dA", "a1", "ca", "2018-06-29", occurred_at=shanghai("2018-06-30T23:30")),
        "dB": deed("dB", "a1", "ca", "2018-06-30", occurred_at=shanghai("2018-07-01T00:10")),
        "dC": deed("dC", "b1", "cb", "2018-06-28", occurred_at=utc("2018-06-30T15:59:59")),   # 23:59:59 +08:00
        "dD": deed("dD", "c1", "cc", "2018-06-28", occurred_at=utc("2018-06-30T16:00:00")),   # 00:00 on 07-01
        "dE": deed("dE", "c2", "cc", "2018-06-10", occurred_at=shanghai("2018-06-10T12:00")),
    }


def new_store() -> ReportingStore:
    return ReportingStore(ServiceDb(client_for(None)[f"t_as_of_{uuid.uuid4().hex}"],
                                    ReportingStore.OUTBOX_COLLECTIONS))


def store_with(events) -> ReportingStore:
    store = new_store()
    assert {r.outcome for r in handlers.apply_events(store, list(events))} == {"ok"}
    return store


def june_deeds(model: ReportModel, unit_id: str = "wgz") -> int:
    return model.summary(unit_id, *JUNE)["deeds"]["total"]


def deed_ids(model: ReportModel) -> set:
    return set(model.deeds)


def test_end_of_day_is_the_last_instant_of_the_business_day():
    assert end_of_day(D("2018-06-30")) == shanghai("2018-06-30T23:59:59.999999")
    assert end_of_day(D("2018-06-30")) == utc("2018-06-30T15:59:59.999999")


def test_as_of_sees_only_events_occurred_by_the_end_of_that_business_day():
    store = store_with(tree() + list(deeds().values()))
    assert deed_ids(store.model_as_of(D("2018-06-30"))) == {"dA", "dC", "dE"}
    assert deed_ids(store.model_as_of(D("2018-07-01"))) == {"dA", "dB", "dC", "dD", "dE"}
    assert deed_ids(store.model_as_of(D("2018-06-29"))) == {"dE"}
    assert deed_ids(store.model_as_of(D("2018-06-09"))) == set()
    assert june_deeds(store.model_as_of(D("2018-06-30"))) == 3
    assert june_deeds(store.model_as_of(D("2018-07-01"))) == 5
    assert june_deeds(store.model_as_of(D("2018-06-09"))) == 0
    # before the tree was keyed in, the street is not known
    with pytest.raises(NotFound):
        store.model_as_of(D("2018-01-01")).summary("wgz", *JUNE)
    assert store.model_as_of(D("2018-01-02")).summary("wgz", *JUNE)["members"]["total"] == 9


def test_as_of_none_is_the_live_model():
    store = store_with(tree() + list(deeds().values()))
    assert store.model_as_of(None) is store.model
    assert june_deeds(store.model_as_of(None)) == 5
    body = handlers.summary(store, "wgz", *JUNE)
    assert "as_of" not in body and body["deeds"]["total"] == 5
    body = handlers.summary(store, "wgz", *JUNE, as_of=D("2018-06-30"))
    assert body["as_of"] == "2018-06-30" and body["deeds"]["total"] == 3


def test_a_late_event_that_occurred_before_a_cached_day_invalidates_it():
    store = store_with(tree() + list(deeds().values()))
    june_30 = store.model_as_of(D("2018-06-30"))
    june_15 = store.model_as_of(D("2018-06-15"))
    assert store.model_as_of(D("2018-06-30")) is june_30           # kept for the next question
    assert june_deeds(june_30) == 3 and june_deeds(june_15) == 1

    # arrives now, occurred on 06-20: June 30 (cached) must see it; June 15 need not
    late = deed("dF", "b2", "cb", "2018-06-20", occurred_at=shanghai("2018-06-20T10:00"))
    handlers.apply_events(store, [late])
    assert deed_ids(store.model_as_of(D("2018-06-30"))) == {"dA", "dC", "dE", "dF"}
    assert june_deeds(store.model_as_of(D("2018-06-30"))) == 4
    assert june_deeds(store.model_as_of(D("2018-06-15"))) == 1
    assert store.model_as_of(D("2018-06-15")) is june_15

    # occurred after the cached day: the cached model stands
    refreshed = store.model_as_of(D("2018-06-30"))
    handlers.apply_events(store, [deed("dG", "b2", "cb", "2018-06-21", occurred_at=shanghai("2018-07-15T10:00"))])
    assert store.model_as_of(D("2018-06-30")) is refreshed
    assert june_deeds(store.model_as_of(D("2018-06-30"))) == 4
    assert june_deeds(store.model_as_of(None)) == 7

    # on the edge: occurred at the very end of June 30 (business time)
    handlers.apply_events(store, [deed("dH", "b2", "cb", "2018-06-22",
                                       occurred_at=utc("2018-06-30T15:59:59.999999"))])
    assert "dH" in deed_ids(store.model_as_of(D("2018-06-30")))
    # a redelivery changes nothing
    handlers.apply_events(store, [late])
    assert june_deeds(store.model_as_of(D("2018-06-30"))) == 5


def test_the_cache_is_small_and_evicted_days_are_replayed_correctly():
    store = store_with(tree() + list(deeds().values()))
    days = [D("2018-06-09") + timedelta(days=i) for i in range(AS_OF_CACHE + 3)]
    first = [deed_ids(store.model_as_of(day)) for day in days]
    assert len(store._as_of) <= AS_OF_CACHE
    handlers.apply_events(store, [deed("dF", "b2", "cb", "2018-06-05", occurred_at=shanghai("2018-06-05T10:00"))])
    assert [deed_ids(store.model_as_of(day)) for day in days] == [ids | {"dF"} for ids in first]


def direct(events, as_of: date) -> ReportModel:
    model = ReportModel()
    model.apply([e for e in events if e.occurred_at <= end_of_day(as_of)])
    return model


def test_the_as_of_model_equals_a_model_of_the_same_events_built_directly():
    events = tree() + list(deeds().values()) + [
        deed("dF", "b2", "cb", "2018-06-20", occurred_at=shanghai("2018-06-20T10:00")),
        deed("dG", "a3", "ca", "2018-06-21", occurred_at=shanghai("2018-07-15T10:00")),
    ]
    delivered = events[:]
    random.Random(630).shuffle(delivered)
    store = new_store()
    for start in range(0, len(delivered), 7):       # in batches, in no particular order
        handlers.apply_events(store, delivered[start:start + 7])
    today = D("2018-08-01")
    for as_of in (D("2018-06-10"), D("2018-06-30"), D("2018-07-01"), D("2018-07-20")):
        expected = direct(events, as_of)
        got = store.model_as_of(as_of)
        assert got.applied == expected.applied
        assert got.summary("wgz", *JUNE) == expected.summary("wgz", *JUNE)
        for grouping in reports.DEED_GROUPINGS:
            query = {"from_": JUNE[0], "to": JUNE[1], "by": grouping, "as_of": as_of}
            body = handlers.report(store, "deeds", query, today)
            assert body == {**reports.deeds(expected, "wgz", *JUNE, grouping), "as_of": as_of.isoformat()}
    # and after a restart, from the event store
    restarted = ReportingStore(store.db)
    assert restarted.model_as_of(D("2018-06-30")).summary("wgz", *JUNE) == \
        direct(events, D("2018-06-30")).summary("wgz", *JUNE)
    assert june_deeds(restarted.model_as_of(D("2018-06-30"))) == 4
    assert restarted.model_as_of(None).summary("wgz", *JUNE) == store.model.summary("wgz", *JUNE)


def test_a_summary_is_answered_again_from_cache_until_an_event_changes_the_model():
    store = ReportingStore(ServiceDb(client_for(None)[f"cache{uuid.uuid4().hex[:8]}"], ["snapshots"]))

    def event(event_type, data):
        return CATALOG.validate(CATALOG.new_event(event_type, data, source="test", org_unit_id=data["org_unit_id"]))

    handlers.apply_events(store, [event("org_unit_created", {"org_unit_id": "s", "name": "街道", "level": "street",
                                                              "parent_id": None})])
    calls = []
    original = store.model.summary
    store.model.summary = lambda *a: calls.append(a) or original(*a)
    period = (date(2018, 1, 1), date(2018, 12, 31))
    first = handlers.summary(store, "s", *period)
    again = handlers.summary(store, "s", *period)
    assert again == first and len(calls) == 1                    # answered from the cache
    handlers.apply_events(store, [event("deed_recorded", {
        "deed_id": "d1", "member_id": "m1", "household_id": None, "org_unit_id": "s", "done_on": date(2018, 3, 1),
        "category": "帮扶", "description": "x", "recorded_by": "m1", "points": 1})])
    after = handlers.summary(store, "s", *period)
    assert len(calls) == 2 and after["deeds"]["total"] == 1 and first["deeds"]["total"] == 0
