"""Prometheus metrics shared by every service (DESIGN.md rule 6).

All series carry a `service` label, so several services may share one
process (as `make run` does) and one registry.
"""
from __future__ import annotations

import logging
import threading

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("lianxin.metrics")

EVENTS = Counter(
    "lianxin_events_total", "Events consumed, by type and outcome "
    "(ok, duplicate, retried, dead_lettered)",
    ["service", "queue", "event_type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "lianxin_handler_seconds", "Time to handle one batch of events",
    ["service", "queue"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_SIZE = Histogram(
    "lianxin_batch_size", "Events per handled batch", ["service", "queue"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
)
PUBLISHED = Counter(
    "lianxin_published_total", "Events published by the outbox relay, by outcome",
    ["service", "event_type", "outcome"],
)
OUTBOX_BACKLOG = Gauge("lianxin_outbox_backlog", "Events recorded but not yet confirmed by the broker",
                       ["service"])
OUTBOX_OLDEST_AGE = Gauge("lianxin_outbox_oldest_age_seconds",
                          "Age of the oldest unpublished event in the outbox", ["service"])
HTTP_REQUESTS = Counter("lianxin_http_requests_total", "HTTP requests by route and status",
                        ["route", "method", "status"])
HTTP_SECONDS = Histogram("lianxin_http_request_seconds", "HTTP request latency", ["route", "method"])
HTTP_WRITES_QUEUED = Counter("lianxin_http_writes_queued_total",
                             "HTTP writes accepted (202) while the broker was down, stored in the gateway's "
                             "outbox as intake envelopes", ["route"])
ACCESS_REFUSED = Counter("lianxin_access_refused_total",
                         "HTTP requests refused by authentication (401) or role and scope (403)", ["status"])
AUDIT_WRITES = Counter("lianxin_audit_entries_total", "Audit log entries written, by action", ["action"])
AUDIT_FAILURES = Counter("lianxin_audit_failures_total",
                         "Audit log entries that could not be written (unmasked reads are then refused)")

_started: set[int] = set()
_lock = threading.Lock()


def serve(port: int | None) -> None:
    """Expose /metrics on `port` once per process (0 or None: don't)."""
    if not port:
        return
    with _lock:
        if port in _started:
            return
        start_http_server(port)
        _started.add(port)
        log.info("metrics on :%d/metrics", port)
