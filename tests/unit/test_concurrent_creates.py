"""The same thing created at the same moment by two instances (a redelivery
taken by the other one, a request sent twice): the one that loses the race
finds it in the document it reads again, and answers as a repeat, not as a
second one refused by the rules."""
import pytest

from lianxin.store import ServiceDb
from services.honours.store import HonoursStore
from services.inspections.store import InspectionsStore
from tests.support.fakes import fresh_database
from tests.unit import test_honours_handlers as honours
from tests.unit import test_inspections_handlers as inspections
from tests.unit.test_honours_rules import world as honours_world
from tests.unit.test_reporting_domain import zones


@pytest.fixture
def honours_store(notified):
    store = HonoursStore(ServiceDb(fresh_database(), HonoursStore.OUTBOX_COLLECTIONS, notify=notified))
    store.apply_events(honours_world())
    return store


@pytest.fixture
def inspections_store(notified):
    store = InspectionsStore(ServiceDb(fresh_database(), InspectionsStore.OUTBOX_COLLECTIONS, notify=notified))
    store.apply_events(zones())
    return store


def not_seen_at_first(store, method: str):
    """The create's first look finds nothing: the other instance had not written yet."""
    real = getattr(store, method)
    calls = []

    def first_none(*args):
        calls.append(args)
        return None if len(calls) == 1 else real(*args)
    setattr(store, method, first_none)


def test_a_nomination_made_meanwhile_is_a_repeat(honours_store):
    honours.create_category(honours_store)
    first = honours.nominate(honours_store, "f1")
    assert first["status"] == 201
    not_seen_at_first(honours_store, "nomination_request")
    again = honours.nominate(honours_store, "f1")
    assert again["status"] == 200 and again["body"] == first["body"]


def test_an_assessment_recorded_meanwhile_is_a_repeat(inspections_store):
    inspections.open_round(inspections_store)
    first = inspections.assess(inspections_store, assessment_id="as1")
    assert first["status"] == 201
    not_seen_at_first(inspections_store, "assessment_request")
    again = inspections.assess(inspections_store, assessment_id="as1")
    assert again["status"] == 200 and again["body"] == first["body"]
