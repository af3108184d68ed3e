"""The audit log's entries for writes that come by intake (the gateway writes
those that come by HTTP, services/gateway/security.py).

Entries are appended to `<prefix>_audit.entries`, the same collection, and
never changed: in the compose deployment every service's MongoDB user may
only find and insert there (deploy/mongo/create-users.js).
"""
from __future__ import annotations

from datetime import datetime, timezone

from bson import ObjectId

COLLECTION = "entries"


def database_name(prefix: str) -> str:
    return f"{prefix}_audit"


def stamped(entry: dict, now: datetime | None = None) -> dict:
    """An entry as stored: an ObjectId (they grow within a process, so they order
    entries of the same millisecond) and the time it was written."""
    return {"_id": ObjectId(), "at": now or datetime.now(timezone.utc), **entry}


def intake_entries(queue: str, events: list, results: list, now: datetime | None = None) -> list[dict]:
    """One entry per publisher (the envelopes' `source`) of a batch taken from
    an intake queue: who sent what, and what became of each event. Written
    whatever the outcome, so a redelivery after a crash is recorded too."""
    now = now or datetime.now(timezone.utc)
    by_source: dict[str, list] = {}
    for event, result in zip(events, results):
        envelope = event.envelope
        by_source.setdefault(str(envelope.get("source")), []).append({
            "event_id": envelope.get("event_id"), "event_type": envelope.get("event_type"),
            "org_unit_id": envelope.get("org_unit_id"), "outcome": result.outcome,
            **({"reason": result.reason} if result.reason else {})})
    return [stamped({"action": "intake",
             "who": {"key_id": None, "name": source, "role": "publisher", "scope": None},
             "method": "AMQP", "path": f"lianxin.intake -> {queue}", "route": "intake", "status": None,
             "target": {}, "from": {"address": None, "via": "lianxin.intake", "queue": queue},
             "events": items, "count": len(items)}, now)
            for source, items in by_source.items()]
