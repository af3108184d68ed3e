"""Publisher confirms against the real broker: confirmed, or failed with a reason."""
import kombu

from lianxin import topology
from lianxin.envelope import encode
from lianxin.publisher import ConfirmPublisher, Outgoing
from lianxin.catalog import CATALOG
from tests.support.system import eventually


def envelope(i: int) -> dict:
    return CATALOG.new_event("org_unit_created", {"org_unit_id": f"u{i}", "name": "社区", "level": "community",
                                                  "parent_id": None}, source="test", org_unit_id=f"u{i}")


def test_a_window_of_publishes_is_all_confirmed_and_lands_in_the_queue(vhost):
    publisher = ConfirmPublisher(vhost.uri, window=64)
    try:
        envs = [envelope(i) for i in range(500)]
        result = publisher.publish([Outgoing(topology.EVENTS_EXCHANGE, e["event_type"], encode(e), e["event_id"])
                                    for e in envs])
    finally:
        publisher.close()
    assert sorted(result.confirmed) == sorted(e["event_id"] for e in envs)
    assert result.failed == {}
    # eventually: rabbitmqctl's count of a quorum queue is refreshed every few seconds
    eventually(lambda: vhost.queue_depths()["reporting.events"] == 500, message="500 in reporting.events")


def test_an_unroutable_publish_is_reported_not_dropped(vhost):
    with kombu.Connection(vhost.uri) as conn:  # an exchange nothing is bound to
        conn.channel().exchange_declare("test.nowhere", "topic", durable=False, auto_delete=True)
        publisher = ConfirmPublisher(vhost.uri)
        try:
            routed = envelope(1)
            result = publisher.publish([
                Outgoing("test.nowhere", "anything", b"{}", "lost-1"),
                Outgoing(topology.EVENTS_EXCHANGE, routed["event_type"], encode(routed), routed["event_id"]),
            ])
        finally:
            publisher.close()
    assert result.confirmed == [routed["event_id"]]
    assert "unroutable" in result.failed["lost-1"]


def test_the_topology_exists_before_anything_consumes(vhost):
    publisher = ConfirmPublisher(vhost.uri)
    try:
        publisher.publish([])  # nothing to send: no connection needed
        env = envelope(2)
        publisher.publish([Outgoing(topology.EVENTS_EXCHANGE, env["event_type"], encode(env), env["event_id"])])
    finally:
        publisher.close()
    depths = vhost.queue_depths()
    for sub in topology.SUBSCRIPTIONS:
        assert sub.queue in depths and sub.dead_letter_queue in depths
        for delay in topology.RETRY_DELAYS:
            assert sub.retry_queue(delay) in depths
    # eventually: rabbitmqctl's count of a quorum queue is refreshed every few seconds
    eventually(lambda: vhost.queue_depths()["reporting.events"] == 1, message="1 in reporting.events")
