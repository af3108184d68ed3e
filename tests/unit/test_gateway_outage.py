"""Writes while the broker is down, without a broker: which routes are queued
and as what, the envelope and the 202 answer, the broker state, the gateway's
publish that gives up when the broker goes, the relay's exchange per outbox
collection and its true backlog count."""
import threading
from datetime import datetime, timedelta, timezone

import eventlet
import pytest

from lianxin import metrics, topology
from lianxin.access import Principal
from lianxin.catalog import CATALOG, InvalidEvent
from lianxin.publisher import PublishResult
from lianxin.relay import OutboxRelay
from lianxin.store import ServiceDb
from services.gateway import guard, openapi, outage
from services.gateway.outage import BrokerState, BrokerUnavailable
from services.gateway.service import GatewayService
from services.gateway.store import QUEUED_WRITES, GatewayStore
from tests.support.fakes import fresh_database

MEMBER = {"name": "张三", "gender": "male", "birth_date": "1970-01-02", "org_unit_id": "c1", "stage": "full",
          "admitted_on": "1995-07-01"}


# -- which routes, as what -------------------------------------------------------------

def test_every_single_route_intake_command_is_queueable_and_nothing_else():
    assert {q.route: q.command for q in outage.QUEUEABLE.values()} == {
        "POST /api/v1/members": "member_registered",
        "POST /api/v1/members/{id}/stage-changes": "member_stage_changed",
        "POST /api/v1/household-links": "household_linked",
        "POST /api/v1/deeds": "deed_recorded",
        "POST /api/v1/cases": "case_opened",
        "POST /api/v1/cases/{id}/resolution": "case_resolved",
        "POST /api/v1/inspection-rounds/{id}/assessments": "assessment_recorded",
        "POST /api/v1/findings/{id}/submission": "rectification_submitted",
    }
    # two requests over HTTP (schedule + record), or none: not queueable
    assert not {"activity_held", "honour_awarded"} & {q.command for q in outage.QUEUEABLE.values()}
    assert outage.queueable("POST", "/api/v1/org-units") is None
    assert outage.queueable("DELETE", "/api/v1/org-units/{id}") is None
    assert outage.queueable("POST", "/api/v1/members/{id}/stage-changes").path_fields == ("member_id",)


def test_every_queueable_route_is_a_gateway_handler_with_the_same_route():
    served = set()
    for name in dir(GatewayService):
        for entrypoint in getattr(getattr(GatewayService, name), "nameko_entrypoints", ()):
            if getattr(entrypoint, "method", None) == "POST":
                served.add(entrypoint.url)
    assert {q.rule for q in outage.QUEUEABLE.values()} <= served


# -- the envelope and the answer ----------------------------------------------------------

def test_a_queued_create_gets_an_id_and_becomes_a_valid_intake_envelope():
    spec = outage.queueable("POST", "/api/v1/members")
    envelope, entity_id = spec.envelope(MEMBER, {})
    assert envelope["event_type"] == "member_registered" and envelope["source"] == "gateway"
    assert envelope["org_unit_id"] == "c1" and envelope["schema_version"] == 1
    assert envelope["data"]["id"] == entity_id and entity_id
    assert CATALOG.validate_intake(envelope).data["name"] == "张三"
    assert envelope["event_id"] != entity_id
    answer = spec.answer(envelope, entity_id)
    assert answer["status"] == "queued" and answer["id"] == entity_id and answer["event_id"] == envelope["event_id"]
    assert "broker" in answer["detail"]
    assert spec.location({}, entity_id) == f"/api/v1/members/{entity_id}"


def test_a_client_id_is_kept_and_a_path_id_goes_into_the_data():
    assert outage.queueable("POST", "/api/v1/members").envelope({**MEMBER, "id": "m9"}, {})[1] == "m9"
    spec = outage.queueable("POST", "/api/v1/members/{id}/stage-changes")
    envelope, entity_id = spec.envelope({"stage": "activist", "effective_on": "2018-03-01"}, {"member_id": "a0"})
    assert entity_id == "a0" and envelope["data"] == {"stage": "activist", "effective_on": "2018-03-01",
                                                      "member_id": "a0"}
    assert envelope["org_unit_id"] is None          # not known at the gateway without asking membership
    assert spec.location({"member_id": "a 0"}, "a 0") == "/api/v1/members/a%200"


def test_the_id_is_given_before_the_rpc_only_to_writes_that_create():
    members = outage.queueable("POST", "/api/v1/members")
    assert members.with_id(MEMBER)["id"] and "id" not in MEMBER
    assert members.with_id({**MEMBER, "id": "m1"})["id"] == "m1"
    stage = outage.queueable("POST", "/api/v1/members/{id}/stage-changes")
    assert "id" not in stage.with_id({"stage": "activist", "effective_on": "2018-03-01"})


def test_where_the_api_has_no_get_route_there_is_no_location():
    assert outage.queueable("POST", "/api/v1/household-links").location({}, "l1") is None
    assert outage.queueable("POST", "/api/v1/inspection-rounds/{id}/assessments").location({"round_id": "r1"},
                                                                                             "a1") is None
    assert outage.queueable("POST", "/api/v1/findings/{id}/submission").location(
        {"finding_id": "f1"}, "f1") == "/api/v1/findings/f1"


def test_the_catalog_refuses_what_its_intake_would_refuse():
    with pytest.raises(InvalidEvent) as refused:
        outage.queueable("POST", "/api/v1/members").envelope({**MEMBER, "stray": 1}, {})
    assert refused.value.status == 400 and "data.stray" in refused.value.errors


def test_the_openapi_document_says_which_writes_may_be_queued():
    doc = openapi.build()
    members = doc["paths"]["/api/v1/members"]["post"]["responses"]
    assert members["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/QueuedWrite")
    assert "Location" in members["202"]["headers"] and "Retry-After" in members["503"]["headers"]
    assert "202" not in doc["paths"]["/api/v1/org-units"]["post"]["responses"]
    assert "202" in doc["paths"]["/api/v1/members/{member_id}/stage-changes"]["post"]["responses"]
    assert doc["components"]["schemas"]["QueuedWrite"]["properties"]["status"]["enum"] == ["queued"]


# -- the guard while the broker is down -------------------------------------------------------

def broker_down(*_):
    raise BrokerUnavailable()


def test_a_whole_tree_key_needs_no_fact_so_its_write_may_be_queued():
    admin = Principal(key_id="k", name="admin", role="admin", scope=None)
    guard.check_scope(admin, guard.RULES["record_deed"], {}, {"member_id": "m1"}, {}, broker_down)


def test_a_scoped_key_whose_scope_needs_a_fact_is_refused_with_503_not_let_through():
    scoped = Principal(key_id="k", name="grid app", role="publisher", scope="c1")
    with pytest.raises(BrokerUnavailable) as refused:
        guard.check_scope(scoped, guard.RULES["record_deed"], {}, {"member_id": "m1"}, {}, broker_down)
    assert refused.value.status == 503
    with pytest.raises(BrokerUnavailable):
        guard.check_scope(scoped, guard.RULES["change_stage"], {"member_id": "m1"}, {}, {}, broker_down)


# -- the broker state and the gateway's publish ----------------------------------------------

def test_the_broker_state_wakes_waiters_when_it_goes_down():
    state = BrokerState()
    assert state.up and not state.mark_up()
    waiter = eventlet.event.Event()
    state.until_down(waiter)
    assert state.mark_down("ConnectionRefusedError") and waiter.wait() == ("down", "ConnectionRefusedError")
    late = eventlet.event.Event()
    state.until_down(late)
    assert late.ready()                      # down already: at once
    assert state.mark_up() and state.reason is None


class FakeGateway:
    def __init__(self):
        self.broker = BrokerState()

    _send = GatewayService._send


class Proxy:
    def __init__(self, call_async):
        self.call_async = call_async


def test_a_publish_that_fails_for_want_of_a_connection_marks_the_broker_down():
    gateway = FakeGateway()

    def refused(*_):
        raise ConnectionRefusedError("refused")

    with pytest.raises(BrokerUnavailable):
        gateway._send(Proxy(refused))
    assert not gateway.broker.up


def test_a_publish_still_retrying_when_the_broker_goes_down_is_not_waited_for():
    gateway = FakeGateway()
    eventlet.spawn_after(0.05, gateway.broker.mark_down, "watcher: ConnectionForced")
    started = eventlet.hubs.get_hub().clock()
    with pytest.raises(BrokerUnavailable):
        gateway._send(Proxy(lambda *_: eventlet.sleep(30)))
    assert eventlet.hubs.get_hub().clock() - started < 5
    with pytest.raises(BrokerUnavailable):          # and while down, nothing is even tried
        gateway._send(Proxy(lambda *_: pytest.fail("published while down")))


def test_a_publish_that_is_sent_returns_its_reply_and_other_errors_are_raised():
    gateway = FakeGateway()
    assert gateway._send(Proxy(lambda *args: ("reply", args)), 1) == ("reply", (1,))

    def broken(*_):
        raise KeyError("bug")

    with pytest.raises(KeyError):
        gateway._send(Proxy(broken))
    assert gateway.broker.up


# -- the gateway's queued writes and the relay ----------------------------------------------------

class RecordingPublisher:
    def __init__(self, down=False):
        self.down = down
        self.messages = []
        self.connected = threading.Event()

    def connect(self):
        if self.down:
            raise ConnectionRefusedError("broker down")
        self.connected.set()

    def publish(self, messages, more=None):
        if self.down:
            raise ConnectionRefusedError("broker down")
        self.messages.extend(messages)
        return PublishResult(confirmed=[m.message_id for m in messages])

    def close(self):
        pass


def envelope(unit_id):
    return CATALOG.new_event("org_unit_created", {"org_unit_id": unit_id, "name": unit_id, "level": "street",
                                                  "parent_id": None}, source="test", org_unit_id=unit_id)


def gateway_store():
    db = ServiceDb(fresh_database(), GatewayStore.OUTBOX_COLLECTIONS + ("things",))
    return GatewayStore(db, fresh_database()), db


def test_a_queued_write_is_stored_with_its_envelope_in_the_outbox():
    store, db = gateway_store()
    queued, entity_id = outage.queueable("POST", "/api/v1/members").envelope(MEMBER, {})
    store.queue_write(queued, "POST /api/v1/members", entity_id, "k1")
    [(collection, doc_id, pending, _)] = db.pending_events()
    assert (collection, doc_id, pending) == (QUEUED_WRITES, queued["event_id"], queued)
    found = store.queued_write(queued["event_id"])
    assert found["entity_id"] == entity_id and found["key_id"] == "k1" and found["published"] is False


def test_the_relay_sends_each_collection_to_its_exchange():
    store, db = gateway_store()
    queued, entity_id = outage.queueable("POST", "/api/v1/deeds").envelope(
        {"member_id": "m1", "done_on": "2018-06-12", "category": "帮扶", "description": "一件小事"}, {})
    store.queue_write(queued, "POST /api/v1/deeds", entity_id, None)
    db.insert_with_events("things", {"_id": "t1"}, [envelope("u1")])
    publisher = RecordingPublisher()
    relay = OutboxRelay("t-exchanges", db, publisher, exchanges=GatewayStore.OUTBOX_EXCHANGES)
    assert relay.publish_pending() == 2
    sent = {m.routing_key: m.exchange for m in publisher.messages}
    assert sent == {"deed_recorded": topology.INTAKE_EXCHANGE, "org_unit_created": topology.EVENTS_EXCHANGE}
    assert db.pending_events() == [] and store.queued_write(queued["event_id"])["published"] is True


def gauges(service):
    return (metrics.OUTBOX_BACKLOG.labels(service)._value.get(),
            metrics.OUTBOX_OLDEST_AGE.labels(service)._value.get())


def test_the_backlog_is_a_true_count_that_grows_while_down_and_returns_to_0():
    db = ServiceDb(fresh_database(), ("things", "others"))
    for i in range(5):
        db.insert_with_events("things", {"_id": f"t{i}"}, [envelope(f"a{i}"), envelope(f"b{i}")])
    db.insert_with_events("others", {"_id": "o1"}, [envelope("o1")])
    old = datetime.now(timezone.utc) - timedelta(minutes=5)
    db["others"].update_one({"_id": "o1"}, {"$set": {"outbox.0.recorded_at": old}})
    count, oldest = db.outbox_backlog()
    assert count == 11 and abs((oldest - old).total_seconds()) < 1

    publisher = RecordingPublisher(down=True)
    relay = OutboxRelay("t-backlog", db, publisher, batch_size=3, retry_interval=0.01, sweep_interval=0.05)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        deadline = eventlet.hubs.get_hub().clock() + 5
        while gauges("t-backlog")[0] != 11 and eventlet.hubs.get_hub().clock() < deadline:
            eventlet.sleep(0.01)
        backlog, age = gauges("t-backlog")
        assert backlog == 11 and age >= 299        # more than a batch: counted, not capped
        publisher.down = False                      # the broker returns
        while gauges("t-backlog")[0] != 0 and eventlet.hubs.get_hub().clock() < deadline:
            eventlet.sleep(0.01)
        assert gauges("t-backlog") == (0, 0)
        assert len(publisher.messages) == 11 and db.outbox_backlog() == (0, None)
    finally:
        relay.stop()
        thread.join(5)


def test_the_gateways_broker_account_may_publish_exactly_the_commands_it_queues():
    from lianxin import broker_accounts
    assert broker_accounts.queued_intake_commands() == sorted(q.command for q in outage.QUEUEABLE.values())
    gateway = broker_accounts.account("gateway")
    assert "lianxin\\.intake" in gateway.write and topology.INTAKE_EXCHANGE in gateway.topic
