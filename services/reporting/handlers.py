"""Reporting's use cases: apply a batch of domain events; answer reports;
publish snapshots of closed periods."""
from __future__ import annotations

import logging
from datetime import date

from lianxin.catalog import CATALOG
from lianxin.commands import outcomes
from lianxin.consumer import Result
from lianxin.errors import Conflict, InvalidInput, NotFound
from lianxin.replies import created, existing

from . import reports, snapshots
from .store import ReportingStore

log = logging.getLogger("lianxin.reporting")


def apply_events(store: ReportingStore, events) -> list[Result]:
    # Keep the event store and the read model in step: what was projected
    # stays stored; if an event breaks the projection, it and the rest are
    # forgotten, and the consumer isolates it and dead-letters it.
    fresh = store.receive(events)
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


def summary(store: ReportingStore, org_unit_id: str, start: date, end: date, as_of: date | None = None) -> dict:
    model = store.model_as_of(as_of)
    # The same question asked again before any event was applied gets the
    # same answer: kept until the model changes (dashboards poll the same few).
    key = (as_of, id(model), model.applied, org_unit_id, start, end)
    body = store.cached_summary(key)
    if body is None:
        body = store.cache_summary(key, model.summary(org_unit_id, start, end))
    return {**body, "as_of": as_of.isoformat()} if as_of else body


def report(store: ReportingStore, name: str, query: dict, today: date) -> dict:
    """One of the table reports (reports.REPORTS), optionally as of a past day."""
    model = store.model_as_of(query.get("as_of"))
    unit = query.get("org_unit_id") or model.root()
    start, end = query["from_"], query["to"]
    if name == "deeds":
        body = reports.deeds(model, unit, start, end, query.get("by") or "community")
    elif name == "compliance":
        body = reports.compliance(model, unit, start, end, today, store.obligations_from)
    elif name == "inspections":
        body = reports.inspections(model, unit, start, end, query.get("round_id"))
    elif name in reports.REPORTS:
        body = reports.REPORTS[name](model, unit, start, end)
    else:
        raise NotFound(f"no report named {name!r}", {"report": [f"one of {', '.join(sorted(reports.REPORTS))}"]})
    body["as_of"] = query["as_of"].isoformat() if query.get("as_of") else None
    return body


def find_events(store: ReportingStore, query: dict) -> dict:
    """The event store, queried by type, org unit (subtree by default) and time."""
    units = None
    if query.get("org_unit_id"):
        unit = query["org_unit_id"]
        if query.get("subtree", True):
            units = store.model.subtree(unit)
        else:
            units = [unit]
    events = store.find_events(query.get("event_type"), units, query.get("since"), query.get("until"),
                               query["limit"], query.get("after"))
    return {"events": events, "count": len(events),
            "next_after": events[-1]["event_id"] if len(events) == query["limit"] else None}


# -- snapshots ----------------------------------------------------------------------------------

def _report_published(doc: dict) -> list[dict]:
    data = {k: doc[k] for k in ("org_unit_id", "granularity", "period", "summary", "corrections")}
    data.update(snapshot_id=doc["_id"], period_start=date.fromisoformat(doc["period_start"]),
                period_end=date.fromisoformat(doc["period_end"]),
                published_on=date.fromisoformat(doc["published_on"]))
    return [CATALOG.new_event("report_published", data, source="reporting", org_unit_id=doc["org_unit_id"])]


def publish_snapshot(store: ReportingStore, command: dict, today: date) -> dict:
    """A closed period's snapshot on demand (e.g. after loading history): 201
    the first time, 200 with the same snapshot after."""
    try:
        period = snapshots.period_named(command["period"])
    except (ValueError, KeyError):
        raise InvalidInput("period must be a month (2018-06), a quarter (2018-Q2) or a year (2018)",
                           {"period": ["must look like 2018-06, 2018-Q2 or 2018"]})
    if period.end >= today:
        raise Conflict(f"{period.label} has not closed yet (it ends on {period.end.isoformat()})",
                       {"period": ["a snapshot is taken once the period has closed"]})
    unit = command.get("org_unit_id") or store.model.root()
    store.model.subtree(unit)           # NotFound for an unknown unit
    doc, fresh = store.publish_snapshot(unit, period, today, _report_published)
    return created(doc) if fresh else existing(doc)


def close_periods(store: ReportingStore, today: date) -> int:
    """The periodic job: a snapshot for every month, quarter and year that has
    closed since snapshots began, for each snapshot unit (default: the top of
    the tree). Returns how many were published."""
    units = store.snapshot_units
    if not units:
        try:
            units = [store.model.root()]
        except (NotFound, Conflict, InvalidInput):      # no tree yet, or several tops
            return 0
    published = 0
    for period in snapshots.closed_between(store.snapshots_since(today), today):
        for unit in units:
            if not store.model.membership.is_known(unit):
                continue
            _, fresh = store.publish_snapshot(unit, period, today, _report_published)
            if fresh:
                published += 1
                log.info("snapshot %s published", period.snapshot_id(unit))
    return published


def list_snapshots(store: ReportingStore, query: dict) -> dict:
    docs = store.snapshots(query.get("org_unit_id"), query.get("granularity"), query.get("year"))
    if not query.get("full"):
        docs = [{k: v for k, v in d.items() if k != "summary"} for d in docs]
    return {"snapshots": docs, "count": len(docs)}
