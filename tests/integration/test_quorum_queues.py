"""Quorum queues on the real broker (RabbitMQ >= 3.10): the topology declares
them, the delivery limit parks a message nobody settles, the consumer records
why, a classic queue from before is kept, and QUEUE_TYPE=classic still works."""
import json
import logging
import subprocess
import threading

import pytest

from lianxin import broker_ssl, topology
from lianxin.catalog import CATALOG
from lianxin.consumer import BatchConsumer, Result
from lianxin.envelope import encode
from lianxin.publisher import ConfirmPublisher, Outgoing
from tests.support.system import eventually

def queue_types(vhost) -> dict[str, str]:
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost.name, "name", "type",
                          "--no-table-headers"], check=True, capture_output=True, text=True, timeout=60).stdout
    return dict(line.split() for line in out.splitlines() if len(line.split()) == 2)


def project_queues() -> set[str]:
    return {q.name for q in topology.queues()}


@pytest.fixture
def conn(vhost):
    with broker_ssl.connection(vhost.uri) as c:
        c.ensure_connection(max_retries=1)
        yield c


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(topology, "_warned", set())
    monkeypatch.delenv("QUEUE_TYPE", raising=False)


def event(unit="u1"):
    return CATALOG.new_event("org_unit_created", {"org_unit_id": unit, "name": unit, "level": "street",
                                                  "parent_id": None}, source="membership", org_unit_id=unit)


def publish(uri, *envelopes):
    publisher = ConfirmPublisher(uri, declare_topology=False)
    try:
        result = publisher.publish([Outgoing(topology.EVENTS_EXCHANGE, e["event_type"], encode(e), e["event_id"])
                                    for e in envelopes])
        assert not result.failed, result.failed
    finally:
        publisher.close()


def test_the_topology_is_declared_as_quorum_queues(vhost, conn):
    assert topology.declare(conn.channel()) == []
    types = queue_types(vhost)
    assert {name: types.get(name) for name in project_queues()} == {name: "quorum" for name in project_queues()}


def test_a_message_returned_past_the_delivery_limit_is_parked_by_the_broker(vhost, conn):
    topology.declare(conn.channel())
    env = event()
    publish(vhost.uri, env)
    channel = conn.channel()
    counts = []
    for _ in range(topology.DELIVERY_LIMIT + 5):
        message = eventually(lambda: channel.basic_get("reporting.events"), timeout=5, message="redelivery")
        counts.append(message.properties["application_headers"].get("x-delivery-count"))
        channel.basic_reject(message.delivery_tag, requeue=True)
        if counts[-1] == topology.DELIVERY_LIMIT:
            break
    # RabbitMQ 3.10: the count of earlier returns, 0 on the first delivery; the one
    # counted DELIVERY_LIMIT is the last (lianxin.consumer rejects it itself).
    assert counts == list(range(topology.DELIVERY_LIMIT + 1))
    dead = eventually(lambda: channel.basic_get("reporting.events.dead"), timeout=5, message="parked")
    assert json.loads(dead.body)["event_id"] == env["event_id"]
    [death] = dead.properties["application_headers"]["x-death"]
    assert (death["reason"], death["queue"]) == ("delivery_limit", "reporting.events")
    channel.basic_ack(dead.delivery_tag)
    assert channel.basic_get("reporting.events") is None


def test_an_expired_retry_returns_to_its_queue(vhost, conn):
    topology.declare(conn.channel())
    env = event()
    publisher = ConfirmPublisher(vhost.uri, declare_topology=False)
    try:
        publisher.publish([Outgoing(topology.RETRY_EXCHANGE, "honours.events.retry.1s", encode(env), env["event_id"])])
    finally:
        publisher.close()
    channel = conn.channel()
    back = eventually(lambda: channel.basic_get("honours.events"), timeout=10, message="back from the 1 s tier")
    assert json.loads(back.body)["event_id"] == env["event_id"]
    assert back.properties["application_headers"]["x-death"][0]["reason"] == "expired"


def test_a_consumer_that_dies_on_a_message_isolates_it_then_parks_it_with_its_reason(vhost, conn, monkeypatch):
    monkeypatch.setattr(topology, "DELIVERY_LIMIT", 4)     # declared and counted with it: a quicker loop
    # (suspect from 2 deliveries on: handled alone, in flipping order)
    topology.declare(conn.channel())
    poison, good = event("poison"), event("good")
    rejections, calls, applied = [], [], []
    consumer = None

    def handler(events):
        calls.append(sorted(e.event_id for e in events))
        if any(e.event_id == poison["event_id"] for e in events):
            # the process dies mid-handler: its socket goes, nothing is settled
            consumer._conn.connection.sock.shutdown(2)
            raise SystemExit("killed")
        applied.extend(e.event_id for e in events)
        return [Result.ok()] * len(events)

    consumer = BatchConsumer(vhost.uri, topology.subscription("reporting.events"), handler,
                             record_rejections=rejections.extend, sleep=lambda s: None)
    publish(vhost.uri, poison, good)
    original = consumer._handle

    def dies_for_real(events):      # SystemExit stands for the dead process; the loop reconnects like a restart
        try:
            return original(events)
        except SystemExit:
            raise ConnectionResetError("consumer died")
    consumer._handle = dies_for_real
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        eventually(lambda: rejections, timeout=60, message="the poison event rejected")
        eventually(lambda: good["event_id"] in applied, timeout=10, message="the good event applied")
    finally:
        consumer.stop()
        thread.join(10)
    [rejection] = rejections
    assert rejection["event_id"] == poison["event_id"]
    assert rejection["reason"] == "delivered 4 times without being settled (a consumer died handling it each time)"
    # twice with the good one, then alone (the good one before it on the second round), then rejected unhandled
    both = sorted([poison["event_id"], good["event_id"]])
    assert calls == [both, both, [poison["event_id"]], [good["event_id"]], [poison["event_id"]]]
    assert applied == [good["event_id"]]
    channel = conn.channel()
    dead = eventually(lambda: channel.basic_get("reporting.events.dead"), timeout=5, message="parked")
    headers = dead.properties["application_headers"]
    assert headers["x-lianxin-reason"] == rejection["reason"] and "x-death" not in headers
    assert json.loads(dead.body)["event_id"] == poison["event_id"]


def test_a_classic_queue_from_before_is_kept_with_a_warning(vhost, conn, caplog):
    old = conn.channel()
    old.queue_declare("reporting.events", durable=True, auto_delete=False, arguments={
        "x-dead-letter-exchange": topology.DEAD_LETTER_EXCHANGE, "x-dead-letter-routing-key": "reporting.events"})
    with caplog.at_level(logging.WARNING, logger="lianxin.topology"):
        topology.ensure(conn.channel(), "guest")            # as every process does at start: no exception
    types = queue_types(vhost)
    assert types["reporting.events"] == "classic"
    assert all(types[name] == "quorum" for name in project_queues() - {"reporting.events"})
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "exist as a classic queue" in warning and "reporting.events" in warning and "new vhost" in warning
    # still bound and consumed as before
    env = event()
    publish(vhost.uri, env)
    channel = conn.channel()
    message = eventually(lambda: channel.basic_get("reporting.events"), timeout=5, message="routed")
    assert json.loads(message.body)["event_id"] == env["event_id"]
    assert topology.missing(conn.channel()) == []
    assert topology.backlog(conn.channel())["reporting.events"] == 0


def test_queue_type_classic_declares_classic_queues(vhost, conn, monkeypatch):
    monkeypatch.setenv("QUEUE_TYPE", "classic")
    publisher = ConfirmPublisher(vhost.uri)             # declares the topology on connect, as the relay does
    try:
        publisher.connect()
    finally:
        publisher.close()
    types = queue_types(vhost)
    assert {types.get(name) for name in project_queues()} == {"classic"}


def test_queue_type_from_the_nameko_config_reaches_the_services(system, vhost):
    system.config["QUEUE_TYPE"] = "classic"
    system.start("reporting")
    types = queue_types(vhost)
    assert {types.get(name) for name in project_queues()} == {"classic"}
