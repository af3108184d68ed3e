"""Reporting's collections (no nameko).

events  the append-only event store: _id = event_id, so storing an event is
        also the record that it was processed (idempotency for free, and
        written with the effect: the read model is derived from this store).
The read model lives in memory and is rebuilt from `events` at start.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

import pymongo

from lianxin.catalog import CATALOG, InvalidEvent
from lianxin.envelope import Event
from lianxin.store import ServiceDb, insert_many_new

from .domain import ReportModel

log = logging.getLogger("lianxin.reporting")


class ReportingStore:
    OUTBOX_COLLECTIONS = ()
    INDEXES = {
        "events": [([("event_type", pymongo.ASCENDING), ("occurred_at", pymongo.ASCENDING)], {"name": "by_type"}),
                   ([("org_unit_id", pymongo.ASCENDING), ("occurred_at", pymongo.ASCENDING)], {"name": "by_unit"})],
    }

    def __init__(self, db: ServiceDb, amqp_uri: str | None = None):
        self.db = db
        self.amqp_uri = amqp_uri
        self.model = ReportModel()
        self.last_applied_at: datetime | None = None
        self.rebuild()

    @classmethod
    def from_config(cls, db: ServiceDb, config: dict) -> "ReportingStore":
        return cls(db, config.get("AMQP_URI"))

    def broker_backlog(self) -> dict:
        """Queue depths, for freshness: how much is still on its way."""
        import kombu

        from lianxin import topology
        with kombu.Connection(self.amqp_uri, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
            return topology.backlog(conn.channel())

    def append(self, events: list[Event]) -> list[Event]:
        """Store the events not stored before; return those (in order)."""
        stored_at = datetime.now(timezone.utc)
        docs = [{"_id": e.event_id, "event_type": e.event_type, "org_unit_id": e.org_unit_id,
                 "occurred_at": e.occurred_at, "stored_at": stored_at, "envelope": e.envelope}
                for e in events]
        fresh_ids = {d["_id"] for d in insert_many_new(self.db["events"], docs)}
        if fresh_ids:
            self.last_applied_at = stored_at
        seen: set = set()
        fresh = []
        for e in events:
            if e.event_id in fresh_ids and e.event_id not in seen:
                seen.add(e.event_id)
                fresh.append(e)
        return fresh

    def forget(self, event_ids: list[str]) -> None:
        """Undo an append whose projection failed, so a retry starts clean."""
        self.db["events"].delete_many({"_id": {"$in": list(event_ids)}})

    def rebuild(self) -> ReportModel:
        """A fresh read model from every stored event."""
        started = time.perf_counter()
        model = ReportModel()
        batch = []
        for doc in self.db["events"].find({}, {"envelope": 1}):
            try:
                batch.append(CATALOG.validate(doc["envelope"]))
            except InvalidEvent as exc:  # stored under an older catalog: keep, report
                log.error("event %s no longer validates: %s", doc["_id"], exc.errors)
            if len(batch) >= 1000:
                model.apply(batch)
                batch = []
        model.apply(batch)
        self.model = model
        log.info("read model rebuilt from %d events in %.2fs", model.applied, time.perf_counter() - started)
        return model
