"""Reporting's use cases: apply a batch of domain events; answer reports."""
from __future__ import annotations

from datetime import date

from lianxin.commands import outcomes
from lianxin.consumer import Result

from .store import ReportingStore


def apply_events(store: ReportingStore, events) -> list[Result]:
    fresh = store.append(events)
    for i, event in enumerate(fresh):
        try:
            store.model.apply([event])
        except Exception:
            # Keep the event store and the read model in step: what was
            # projected stays stored; the rest is forgotten, and the consumer
            # isolates the event that broke the projection and dead-letters it.
            store.forget([e.event_id for e in fresh[i:]])
            raise
    # By event id, not object: a redelivery may be the very same object twice in a batch.
    return outcomes(events, {e.event_id for e in fresh})


def reject_unrouted(events) -> list[Result]:
    return [Result.reject(f"no service takes intake of {e.event_type!r}") for e in events]


def freshness(store: ReportingStore) -> dict:
    """How far behind the read models are (API.md): last applied event, backlog."""
    try:
        backlog = store.broker_backlog()
    except Exception as exc:  # noqa: BLE001 - freshness reports the broker's state, it does not fail
        backlog = {"error": f"broker unreachable: {type(exc).__name__}"}
    waiting = sum(v for v in backlog.values() if isinstance(v, int) and v is not None) \
        if "error" not in backlog else None
    model = store.model
    return {
        "events_applied": model.applied,
        "last_applied_at": store.last_applied_at.isoformat() if store.last_applied_at else None,
        "last_event_occurred_at": model.last_occurred_at.isoformat() if model.last_occurred_at else None,
        "reporting_backlog": backlog.get("reporting.events") if "error" not in backlog else None,
        "backlog": backlog, "waiting_total": waiting,
    }


def summary(store: ReportingStore, org_unit_id: str, start: date, end: date) -> dict:
    return store.model.summary(org_unit_id, start, end)
