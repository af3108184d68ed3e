"""Reporting's use cases: apply a batch of domain events; answer reports."""
from __future__ import annotations

from datetime import date

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
    fresh_ids = {id(e) for e in fresh}
    return [Result.ok() if id(e) in fresh_ids else Result.duplicate() for e in events]


def reject_unrouted(events) -> list[Result]:
    return [Result.reject(f"no service takes intake of {e.event_type!r}") for e in events]


def summary(store: ReportingStore, org_unit_id: str, start: date, end: date) -> dict:
    return store.model.summary(org_unit_id, start, end)
