"""Prometheus metrics: events by type and outcome, outbox backlog, handler latency."""
from prometheus_client import REGISTRY

from tests.integration.test_delivery import member_body
from tests.integration.test_http_to_report import seed_tree
from tests.support.system import eventually, intake_envelope


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_consumed_events_are_counted_by_type_and_outcome(system):
    system.start()
    ok_before = value("lianxin_events_total", service="reporting", queue="reporting.events",
                      event_type="member_registered", outcome="ok")
    dup_before = value("lianxin_events_total", service="membership", queue="membership.intake",
                       event_type="member_registered", outcome="duplicate")
    dead_before = value("lianxin_events_total", service="membership", queue="membership.intake",
                        event_type="invalid", outcome="dead_lettered")
    batches_before = value("lianxin_handler_seconds_count", service="reporting", queue="reporting.events")
    seed_tree(system)
    env = intake_envelope("member_registered", member_body(1))
    system.publish_intake([env])
    eventually(lambda: system.summary("wgz").get("members", {}).get("total") == 1, message="applied")
    system.publish_intake([env])
    system.publish_intake([b"garbage"], routing_key="member_registered")
    eventually(lambda: value("lianxin_events_total", service="membership", queue="membership.intake",
                             event_type="member_registered", outcome="duplicate") == dup_before + 1,
               message="duplicate counted")
    eventually(lambda: value("lianxin_events_total", service="membership", queue="membership.intake",
                             event_type="invalid", outcome="dead_lettered") == dead_before + 1,
               message="dead letter counted")
    assert value("lianxin_events_total", service="reporting", queue="reporting.events",
                 event_type="member_registered", outcome="ok") == ok_before + 1
    assert value("lianxin_handler_seconds_count", service="reporting", queue="reporting.events") > batches_before
    assert value("lianxin_published_total", service="membership", event_type="member_registered",
                 outcome="confirmed") >= 1


def test_the_gateway_serves_metrics(system):
    system.start()
    system.http("GET", "/healthz")
    system.get("/members/nobody")
    text = system.http("GET", "/metrics").text
    assert "lianxin_events_total" in text and "lianxin_outbox_backlog" in text
    assert 'lianxin_http_requests_total{method="GET",route="/api/v1/members/{id}",status="404"}' in text
