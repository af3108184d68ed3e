"""Snapshots of closed periods (services/reporting/snapshots.py, the store and
the handlers): which periods have closed, period labels, correction notes, and
publishing each snapshot once with its report_published event."""
from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from lianxin.catalog import CATALOG
from lianxin.envelope import BUSINESS_TZ
from lianxin.errors import Conflict, InvalidInput, NotFound
from lianxin.store import ServiceDb, client_for
from services.reporting import handlers
from services.reporting.snapshots import ClosedPeriod, closed_between, corrections, figures, period_named
from services.reporting.store import ReportingStore
from tests.unit.test_reporting_reports import D, deed, model_of, street, unit

LATE = datetime(2018, 8, 1, 10, 0, tzinfo=BUSINESS_TZ)


def labels(periods) -> list[str]:
    return [p.label for p in periods]


# -- closed_between ---------------------------------------------------------------------------------

def test_closed_between_lists_months_quarters_and_years_in_closing_order():
    assert labels(closed_between(D("2018-05-15"), D("2018-07-10"))) == ["2018-05", "2018-06", "2018-Q2"]
    assert labels(closed_between(D("2018-11-01"), D("2019-01-01"))) == ["2018-11", "2018-12", "2018-Q4", "2018"]
    assert labels(closed_between(D("2017-12-31"), D("2018-04-02"))) == [
        "2017-12", "2017-Q4", "2017", "2018-01", "2018-02", "2018-03", "2018-Q1"]
    june, q2 = closed_between(D("2018-06-01"), D("2018-07-01"))
    assert june == ClosedPeriod("month", "2018-06", D("2018-06-01"), D("2018-06-30"))
    assert q2 == ClosedPeriod("quarter", "2018-Q2", D("2018-04-01"), D("2018-06-30"))
    assert closed_between(D("2018-01-01"), D("2019-01-01"))[-1] == \
        ClosedPeriod("year", "2018", D("2018-01-01"), D("2018-12-31"))
    assert june.snapshot_id("wgz") == "wgz:2018-06"


def test_closed_between_nothing_before_since_and_not_the_period_containing_today():
    # a period that ended before `since` is not listed (May ended before 06-01)
    assert "2018-05" not in labels(closed_between(D("2018-06-01"), D("2018-08-01")))
    # the period containing today has not closed, even on its last day
    assert labels(closed_between(D("2018-06-01"), D("2018-06-30"))) == []
    assert labels(closed_between(D("2018-06-01"), D("2018-07-01"))) == ["2018-06", "2018-Q2"]
    assert labels(closed_between(D("2018-12-01"), D("2018-12-31"))) == []
    # a period ending on `since` has closed since
    assert labels(closed_between(D("2018-06-30"), D("2018-07-01"))) == ["2018-06", "2018-Q2"]
    # since after yesterday: nothing
    assert closed_between(D("2018-07-10"), D("2018-07-10")) == []
    assert closed_between(D("2018-08-01"), D("2018-07-10")) == []


# -- period_named ---------------------------------------------------------------------------------

@pytest.mark.parametrize("label, expected", [
    ("2018-06", ("month", D("2018-06-01"), D("2018-06-30"))),
    ("2018-02", ("month", D("2018-02-01"), D("2018-02-28"))),
    ("2018-12", ("month", D("2018-12-01"), D("2018-12-31"))),
    ("2018-Q1", ("quarter", D("2018-01-01"), D("2018-03-31"))),
    ("2018-Q4", ("quarter", D("2018-10-01"), D("2018-12-31"))),
    ("2018", ("year", D("2018-01-01"), D("2018-12-31"))),
])
def test_period_named_valid(label, expected):
    period = period_named(label)
    assert (period.granularity, period.start, period.end) == expected
    assert period.label == label


@pytest.mark.parametrize("label", ["2018-13", "2018-00", "2018-Q5", "2018-Q0", "2018-6", "2018-Q02", "2018-q2",
                                   "2018-W23", "2018-06-01", "0018-06", " 2018", "2018-", "", "x"])
def test_period_named_refuses_bad_labels(label):
    with pytest.raises(ValueError):
        period_named(label)


@pytest.mark.parametrize("label", ["18-06", "18-Q2", "18"])
def test_period_named_refuses_short_years(label):
    with pytest.raises(ValueError):
        period_named(label)


# -- corrections ----------------------------------------------------------------------------------

JUNE = (D("2018-06-01"), D("2018-06-30"))
JULY = (D("2018-07-01"), D("2018-07-31"))


def published(snapshot_id, period, summary, notes=()):
    return {"_id": snapshot_id, "period": period, "summary": summary, "corrections": list(notes)}


def test_figures_are_the_summarys_by_stable_key():
    said = figures(model_of(street()).summary("wgz", *JUNE))
    assert said["deeds.total"] == 13 and said["deeds.points"] == 17
    assert said["members.by_stage.probationary"] == 2
    assert "org_unit_id" not in said and "from" not in said


def test_corrections_no_note_when_nothing_changed():
    model = model_of(street())
    june = published("wgz:2018-06", "2018-06", model.summary("wgz", *JUNE))
    july = published("wgz:2018-07", "2018-07", model.summary("wgz", *JULY))
    now = lambda s: model.summary("wgz", *(JUNE if s["period"] == "2018-06" else JULY))  # noqa: E731
    assert corrections([june, july], now) == []


def test_corrections_note_a_late_event_once_and_then_only_what_changed_again():
    before = model_of(street())
    june = published("wgz:2018-06", "2018-06", before.summary("wgz", *JUNE))

    late = model_of(street() + [deed("d14", "b2", "cb", "2018-06-05", occurred_at=LATE)])
    notes = corrections([june], lambda s: late.summary("wgz", *JUNE))
    assert notes == [{"snapshot_id": "wgz:2018-06", "period": "2018-06", "changes": {
        "deeds.total": {"was": 13, "now": 14}, "deeds.members_with_deeds": {"was": 8, "now": 9},
        "deeds.points": {"was": 17, "now": 18}}}]

    # July's snapshot carried the note: the change is not noted again
    july = published("wgz:2018-07", "2018-07", late.summary("wgz", *JULY), notes)

    def now_of(model):
        return lambda s: model.summary("wgz", *(JUNE if s["period"] == "2018-06" else JULY))
    assert corrections([june, july], now_of(late)) == []

    # a second change to June: noted against what was last said (the note's `now`), not the snapshot
    later = model_of(street() + [deed("d14", "b2", "cb", "2018-06-05", occurred_at=LATE),
                                 deed("d16", "b2", "cb", "2018-06-06", 2, occurred_at=LATE)])
    assert corrections([june, july], now_of(later)) == [{"snapshot_id": "wgz:2018-06", "period": "2018-06",
                                                          "changes": {"deeds.total": {"was": 14, "now": 15},
                                                                      "deeds.points": {"was": 18, "now": 20}}}]


def test_a_figure_that_disappears_is_noted_with_now_none():
    june = published("wgz:2018-06", "2018-06", {"org_unit_id": "wgz", "deeds": {"total": 1, "old_figure": 3}})
    assert corrections([june], lambda s: {"org_unit_id": "wgz", "deeds": {"total": 1}}) == [
        {"snapshot_id": "wgz:2018-06", "period": "2018-06", "changes": {"deeds.old_figure": {"was": 3, "now": None}}}]


# -- the store and the handlers ---------------------------------------------------------------------

def new_store(**kwargs) -> ReportingStore:
    db = ServiceDb(client_for(None)[f"t_snapshots_{uuid.uuid4().hex}"], ReportingStore.OUTBOX_COLLECTIONS)
    return ReportingStore(db, **kwargs)


def loaded_store(**kwargs) -> ReportingStore:
    store = new_store(**kwargs)
    results = handlers.apply_events(store, street())
    assert {r.outcome for r in results} == {"ok"}
    return store


def raw(store, snapshot_id) -> dict:
    return store.db["snapshots"].find_one({"_id": snapshot_id})


def test_a_published_snapshot_is_stored_with_its_report_published_event():
    store = loaded_store()
    answer = handlers.publish_snapshot(store, {"period": "2018-06"}, D("2018-07-10"))
    assert answer["status"] == 201
    body = answer["body"]
    assert (body["_id"], body["org_unit_id"], body["granularity"], body["period"]) == \
        ("wgz:2018-06", "wgz", "month", "2018-06")
    assert (body["period_start"], body["period_end"], body["published_on"]) == ("2018-06-01", "2018-06-30",
                                                                                 "2018-07-10")
    assert body["summary"] == store.model.summary("wgz", *JUNE)
    assert body["corrections"] == [] and body["published_seq"] == 1
    assert body["events_applied"] == len(street())
    assert "outbox" not in body

    doc = raw(store, "wgz:2018-06")
    assert len(doc["outbox"]) == 1
    event = CATALOG.validate(doc["outbox"][0]["envelope"])
    assert (event.event_type, event.source, event.org_unit_id) == ("report_published", "reporting", "wgz")
    assert event.data["snapshot_id"] == "wgz:2018-06"
    assert (event.data["period"], event.data["granularity"]) == ("2018-06", "month")
    assert (event.data["period_start"], event.data["period_end"], event.data["published_on"]) == \
        (D("2018-06-01"), D("2018-06-30"), D("2018-07-10"))
    assert event.data["summary"] == body["summary"] and event.data["corrections"] == []
    assert store.snapshot("wgz:2018-06") == body
    assert [s["_id"] for s in store.snapshots("wgz")] == ["wgz:2018-06"]


def test_publishing_the_same_period_again_returns_the_existing_snapshot():
    store = loaded_store()
    first = handlers.publish_snapshot(store, {"period": "2018-06"}, D("2018-07-10"))["body"]
    handlers.apply_events(store, [deed("d14", "b2", "cb", "2018-06-05", occurred_at=LATE)])
    again = handlers.publish_snapshot(store, {"period": "2018-06", "org_unit_id": "wgz"}, D("2018-08-02"))
    assert again == {"status": 200, "body": first}
    assert again["body"]["summary"]["deeds"]["total"] == 13        # as it was, not as it is now
    doc, created = store.publish_snapshot("wgz", period_named("2018-06"), D("2018-08-02"),
                                          handlers._report_published)
    assert (doc, created) == (first, False)
    assert len(raw(store, "wgz:2018-06")["outbox"]) == 1
    assert store.db["snapshots"].count_documents({}) == 1


def test_a_snapshot_never_changes_and_the_next_one_carries_the_correction():
    store = loaded_store()
    june = handlers.publish_snapshot(store, {"period": "2018-06"}, D("2018-07-10"))["body"]
    handlers.apply_events(store, [deed("d14", "b2", "cb", "2018-06-05", occurred_at=LATE)])
    assert store.model.summary("wgz", *JUNE)["deeds"]["total"] == 14
    assert store.snapshot("wgz:2018-06") == june

    july = handlers.publish_snapshot(store, {"period": "2018-07"}, D("2018-08-02"))["body"]
    note = {"snapshot_id": "wgz:2018-06", "period": "2018-06", "changes": {
        "deeds.total": {"was": 13, "now": 14}, "deeds.members_with_deeds": {"was": 8, "now": 9},
        "deeds.points": {"was": 17, "now": 18}}}
    assert july["corrections"] == [note] and july["published_seq"] == 2
    event = CATALOG.validate(raw(store, "wgz:2018-07")["outbox"][0]["envelope"])
    assert event.data["corrections"] == [note]
    assert store.snapshot("wgz:2018-06") == june

    # noted once: the next snapshot does not repeat it
    q2 = handlers.publish_snapshot(store, {"period": "2018-Q2"}, D("2018-08-02"))["body"]
    assert q2["corrections"] == [] and q2["summary"]["deeds"]["total"] == 14
    # a second late event for June: the next snapshot says was 14, now 15
    handlers.apply_events(store, [deed("d16", "b2", "cb", "2018-06-06", occurred_at=LATE)])
    august = handlers.publish_snapshot(store, {"period": "2018-08"}, D("2018-09-01"))["body"]
    assert august["corrections"] == [
        {"snapshot_id": "wgz:2018-06", "period": "2018-06", "changes": {"deeds.total": {"was": 14, "now": 15},
                                                                       "deeds.points": {"was": 18, "now": 19}}},
        {"snapshot_id": "wgz:2018-Q2", "period": "2018-Q2", "changes": {"deeds.total": {"was": 14, "now": 15},
                                                                        "deeds.points": {"was": 18, "now": 19}}}]
    assert [s["period"] for s in store.snapshots("wgz")] == ["2018-06", "2018-07", "2018-Q2", "2018-08"]


def test_snapshots_per_unit_are_corrected_per_unit():
    store = loaded_store()
    handlers.publish_snapshot(store, {"period": "2018-06", "org_unit_id": "za"}, D("2018-07-10"))
    handlers.publish_snapshot(store, {"period": "2018-06", "org_unit_id": "zb"}, D("2018-07-10"))
    handlers.apply_events(store, [deed("d14", "b2", "cb", "2018-06-05", occurred_at=LATE)])   # cb is in za
    za = handlers.publish_snapshot(store, {"period": "2018-07", "org_unit_id": "za"}, D("2018-08-02"))["body"]
    zb = handlers.publish_snapshot(store, {"period": "2018-07", "org_unit_id": "zb"}, D("2018-08-02"))["body"]
    assert [n["snapshot_id"] for n in za["corrections"]] == ["za:2018-06"]
    assert zb["corrections"] == []
    assert (za["published_seq"], zb["published_seq"]) == (2, 2)
    assert [s["_id"] for s in store.snapshots("za")] == ["za:2018-06", "za:2018-07"]
    listed = handlers.list_snapshots(store, {"org_unit_id": "zb"})
    assert listed["count"] == 2 and all("summary" not in s for s in listed["snapshots"])


def test_publish_snapshot_refuses_a_period_not_closed_and_a_bad_label():
    store = loaded_store()
    for today in (D("2018-07-10"), D("2018-07-31")):
        with pytest.raises(Conflict):
            handlers.publish_snapshot(store, {"period": "2018-07"}, today)
    with pytest.raises(Conflict):
        handlers.publish_snapshot(store, {"period": "2018"}, D("2018-12-31"))
    assert handlers.publish_snapshot(store, {"period": "2018-07"}, D("2018-08-01"))["status"] == 201
    for bad in ({"period": "2018-13"}, {"period": "2018-Q5"}, {"period": "2018-6"}, {}):
        with pytest.raises(InvalidInput) as info:
            handlers.publish_snapshot(store, bad, D("2019-01-01"))
        assert list(info.value.errors) == ["period"]
    with pytest.raises(NotFound):
        handlers.publish_snapshot(store, {"period": "2018-06", "org_unit_id": "nowhere"}, D("2018-07-10"))
    assert [s["_id"] for s in store.snapshots()] == ["wgz:2018-07"]


def test_close_periods_publishes_every_closed_period_once():
    store = loaded_store(snapshots_since=D("2018-05-01"))
    assert handlers.close_periods(store, D("2018-07-10")) == 3
    assert [(s["_id"], s["published_seq"]) for s in store.snapshots()] == [
        ("wgz:2018-05", 1), ("wgz:2018-06", 2), ("wgz:2018-Q2", 3)]
    assert all(len(raw(store, s["_id"])["outbox"]) == 1 for s in store.snapshots())
    assert handlers.close_periods(store, D("2018-07-10")) == 0
    assert handlers.close_periods(store, D("2018-07-31")) == 0
    assert handlers.close_periods(store, D("2018-08-01")) == 1
    assert store.snapshots()[-1]["_id"] == "wgz:2018-07"
    assert store.db["snapshots"].count_documents({}) == 4


def test_close_periods_starts_from_the_first_run_without_snapshots_from():
    store = loaded_store()
    assert handlers.close_periods(store, D("2018-06-15")) == 0      # the first run: snapshots start today
    assert store.db["settings"].find_one({"_id": "snapshots_since"})["day"] == "2018-06-15"
    assert handlers.close_periods(store, D("2018-07-02")) == 2      # June and Q2, not May or earlier
    assert [s["period"] for s in store.snapshots()] == ["2018-06", "2018-Q2"]
    # a restart keeps the day
    again = ReportingStore(store.db)
    assert again.snapshots_since(D("2018-09-01")) == D("2018-06-15")


def test_close_periods_for_the_configured_units():
    store = loaded_store(snapshots_since=D("2018-06-01"), snapshot_units=["za", "zb", "gone"])
    assert handlers.close_periods(store, D("2018-07-01")) == 4
    assert sorted(s["_id"] for s in store.snapshots()) == ["za:2018-06", "za:2018-Q2", "zb:2018-06", "zb:2018-Q2"]


def test_close_periods_does_nothing_without_a_tree_or_with_several_tops():
    empty = new_store(snapshots_since=D("2018-01-01"))
    assert handlers.close_periods(empty, D("2018-07-10")) == 0
    assert empty.db["snapshots"].count_documents({}) == 0
    two = new_store(snapshots_since=D("2018-01-01"))
    handlers.apply_events(two, [unit("wgz", "street"), unit("za", "street")])
    assert handlers.close_periods(two, D("2018-07-10")) == 0
    assert two.db["snapshots"].count_documents({}) == 0
