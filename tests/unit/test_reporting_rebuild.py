"""A rebuild of the read model from the event store gives exactly the reports of
live projection, on a realistic history delivered shuffled and with duplicates."""
import random
from datetime import date

from lianxin.store import ServiceDb
from services.reporting import handlers
from services.reporting.domain import ReportModel
from services.reporting.store import ReportingStore
from tests.support.fakes import fresh_database
from tests.unit import test_reporting_activities as activities
from tests.unit import test_reporting_honours as honours
from tests.unit import test_reporting_inspections as inspections
from tests.unit.test_reporting_domain import realistic_history

UNITS = ("laoshan", "wgz", "za", "zb", "ca", "cb", "g")
PERIODS = ((date(2017, 1, 1), date(2017, 12, 31)), (date(2018, 1, 1), date(2018, 12, 31)),
           (date(2018, 6, 1), date(2018, 6, 30)), (date(1990, 1, 1), date(2030, 12, 31)))


def history() -> list:
    return realistic_history() + activities.everything() + inspections.history() + honours.history()


def reports(model: ReportModel) -> dict:
    out = {}
    for unit in UNITS:
        for period in PERIODS:
            try:
                out[(unit, period)] = model.summary(unit, *period)
            except Exception as exc:  # noqa: BLE001 - an unknown unit must be unknown in both
                out[(unit, period)] = type(exc).__name__
    return out


def test_rebuild_from_the_event_store_equals_live_projection():
    events = history()
    rng = random.Random(2018)
    delivered = events + rng.sample(events, len(events) // 10)   # redeliveries
    rng.shuffle(delivered)

    store = ReportingStore(ServiceDb(fresh_database(), ReportingStore.OUTBOX_COLLECTIONS))
    outcomes = []
    for start in range(0, len(delivered), 50):                    # batches, as the consumer hands them
        outcomes += [r.outcome for r in handlers.apply_events(store, delivered[start:start + 50])]
    assert outcomes.count("ok") == len({e.event_id for e in events})
    assert outcomes.count("duplicate") == len(delivered) - len({e.event_id for e in events})
    live = reports(store.model)

    store.rebuild()
    assert store.model.applied == len({e.event_id for e in events})
    assert reports(store.model) == live

    in_order = ReportModel()
    in_order.apply(events)
    assert reports(in_order) == live
    # The history is not trivial: every section has figures somewhere.
    year = live[("laoshan", PERIODS[1])]
    assert year["members"]["total"] and year["household_links"] and year["deeds"]["total"]
    assert year["lecture_series"] and year["inspections"]["assessments"] and year["honours"]["collective"]
    assert year["cases"]["disputes_mediated"]


def test_events_from_the_wire_are_stored_as_received_and_rebuilt_the_same():
    from lianxin.catalog import CATALOG
    from lianxin.envelope import encode

    received = [CATALOG.validate(encode(e.envelope)) for e in history()]
    assert all(e.wire is not None for e in received)
    store = ReportingStore(ServiceDb(fresh_database(), ReportingStore.OUTBOX_COLLECTIONS))
    for start in range(0, len(received), 50):
        handlers.apply_events(store, received[start:start + 50])
    stored = {doc["_id"]: doc["body"] for doc in store.db["events"].find()}
    assert stored == {e.event_id: e.wire for e in received}            # the text itself, not re-encoded
    assert all(event.wire is None for _, _, event in store.history)     # kept once, in the store
    live = reports(store.model)
    store.rebuild()
    assert reports(store.model) == live
