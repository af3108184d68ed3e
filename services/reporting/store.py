"""Reporting's collections (no nameko).

events     the append-only event store: _id = event_id, so storing an event
           is also the record that it was processed (idempotency for free, and
           written with the effect: the read model is derived from this store).
snapshots  closed periods' summaries (_id = <unit>:<period>), never changed
           once written, each with its report_published event in its outbox.
settings   _id "snapshots_since": the day automatic snapshots start from.
The read model lives in memory and is rebuilt from `events` at start; so does
the history (events in the order they occurred) that "as of" reports replay.
Events another instance stored (scale-out) are found by their `stored_at`
and applied the same way (lianxin.follow).
"""
from __future__ import annotations

import bisect
import logging
import threading
import time
from collections import OrderedDict
from datetime import date, datetime, time as day_time, timedelta, timezone

import pymongo

from lianxin import follow, heap
from lianxin.catalog import CATALOG, InvalidEvent
from lianxin.envelope import BUSINESS_TZ, Event, decode
from lianxin.store import ServiceDb, insert_many_new, is_duplicate_key, scan

from . import snapshots as snapshot_rules
from .domain import ReportModel

log = logging.getLogger("lianxin.reporting")


AS_OF_CACHE = 4     # "as of" models kept (each a full read model of its day)
SUMMARY_CACHE = 256  # summaries kept until an event changes the model they came from


STORED_ENVELOPE = {"body": 1, "envelope": 1}


def stored_envelope(doc: dict):
    """A stored event's envelope: its JSON text, or (stored before the text
    was kept) the envelope document itself."""
    return doc["body"] if "body" in doc else doc["envelope"]


def end_of_day(day: date) -> datetime:
    """The last instant of a business day, as an aware datetime."""
    return datetime.combine(day + timedelta(days=1), day_time(), BUSINESS_TZ) - timedelta(microseconds=1)


class ReportingStore:
    OUTBOX_COLLECTIONS = ("snapshots",)
    INDEXES = {
        "events": [([("event_type", pymongo.ASCENDING), ("occurred_at", pymongo.ASCENDING)], {"name": "by_type"}),
                   ([("org_unit_id", pymongo.ASCENDING), ("occurred_at", pymongo.ASCENDING)], {"name": "by_unit"}),
                   ([("stored_at", pymongo.ASCENDING), ("_id", pymongo.ASCENDING)], {"name": "by_stored_at"})],
        "snapshots": [([("org_unit_id", pymongo.ASCENDING), ("published_seq", pymongo.ASCENDING)],
                       {"name": "by_unit"})],
    }
    FOLLOW_INTERVAL = follow.FOLLOW_INTERVAL

    def __init__(self, db: ServiceDb, amqp_uri: str | None = None, *, obligations_from: date = date(2018, 1, 1),
                 snapshot_units: list[str] | None = None, snapshots_since: date | None = None):
        self.db = db
        self.amqp_uri = amqp_uri
        self.obligations_from = obligations_from
        self.snapshot_units = list(snapshot_units or ())
        self._snapshots_since = snapshots_since
        self.model = ReportModel()
        self.last_applied_at: datetime | None = None
        # Every applied event by when it occurred, for "as of" replays.
        self.history: list[tuple[datetime, str, Event]] = []
        self._as_of: OrderedDict = OrderedDict()
        self._summaries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.follower = follow.Follower(self.db["events"], self._follow, stamp="stored_at",
                                        fields=("body", "envelope"), name="reporting: events")
        self.rebuild()

    @classmethod
    def from_config(cls, db: ServiceDb, config: dict) -> "ReportingStore":
        def day(key):
            value = config.get(key)
            return date.fromisoformat(str(value)) if value not in (None, "") else None
        units = config.get("SNAPSHOT_UNITS") or []
        if isinstance(units, str):
            units = [u.strip() for u in units.split(",") if u.strip()]
        return cls(db, config.get("AMQP_URI"), obligations_from=day("OBLIGATIONS_FROM") or date(2018, 1, 1),
                   snapshot_units=units, snapshots_since=day("SNAPSHOTS_FROM"))

    def broker_backlog(self) -> dict:
        """Queue depths, for freshness: how much is still on its way."""
        from lianxin import broker_ssl, topology
        with broker_ssl.connection(self.amqp_uri, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
            return topology.backlog(conn.channel())

    def append(self, events: list[Event]) -> list[Event]:
        """Store the events not stored before; return those (in order)."""
        stored_at = datetime.now(timezone.utc)
        # The envelope is kept as its JSON text: it is stored and read back whole,
        # never queried inside, and a flat document costs the embedded store a
        # third of a nested one to insert (and to copy out on a rebuild).
        docs = [{"_id": e.event_id, "event_type": e.event_type, "org_unit_id": e.org_unit_id,
                 "occurred_at": e.occurred_at, "stored_at": stored_at, "body": e.json_text}
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

    def receive(self, events: list[Event]) -> list[Event]:
        """The consumer's path: store the events not stored before and project
        them (`project`); returns those. If one breaks the projection, it and
        the ones after it are forgotten again (the consumer isolates it), so
        the event store and the read model stay in step."""
        with self.follower.lock:
            fresh = self.append(events)
            for i, event in enumerate(fresh):
                try:
                    self.project(event)
                except Exception:
                    self.forget([e.event_id for e in fresh[i:]])
                    self.follower.applied_here(e.event_id for e in fresh[:i])
                    raise
            self.follower.applied_here(e.event_id for e in fresh)
        return fresh

    def project(self, event: Event) -> None:
        """One stored event into the read model, its history and caches: the
        same path for events this instance consumed and those it followed."""
        self.model.apply([event])
        self.applied(event)

    def _follow(self, docs: list[dict]) -> None:
        """Events another instance stored (lianxin.follow)."""
        for doc in docs:
            try:
                event = CATALOG.validate(stored_envelope(doc))
            except InvalidEvent as exc:
                log.error("event %s no longer validates: %s", doc["_id"], exc.errors)
                continue
            self.project(event)
        self.last_applied_at = datetime.now(timezone.utc)

    def follow_once(self) -> int:
        return self.follower.poll()

    def forget(self, event_ids: list[str]) -> None:
        """Undo an append whose projection failed, so a retry starts clean."""
        self.db["events"].delete_many({"_id": {"$in": list(event_ids)}})

    def applied(self, event: Event) -> None:
        """An event is in the read model: keep it in the history, in the order
        events occurred, and drop "as of" models it arrived too late for."""
        occurred = event.occurred_at
        if event.wire is not None:
            # The text as received was for storing it; the history keeps the parsed event only.
            event = Event(event.envelope, event.data)
        entry = (occurred, event.event_id, event)
        history = self.history
        if not history or (occurred, event.event_id) >= history[-1][:2]:
            history.append(entry)       # the usual case: events arrive in the order they occurred
        else:
            bisect.insort(history, entry, key=lambda h: (h[0], h[1]))
        with self._lock:
            for as_of in [d for d in self._as_of if occurred <= end_of_day(d)]:
                del self._as_of[as_of]

    def rebuild(self) -> ReportModel:
        """A fresh read model from every stored event."""
        started, started_at = time.perf_counter(), datetime.now(timezone.utc)
        model = ReportModel()
        history = []
        batch = []
        stamped = []                # (id, stored_at) of the events the follower will see again
        recent = started_at - self.follower.retain
        for doc in scan(self.db["events"], ("_id", "body", "envelope", "stored_at")):
            stored_at = follow.aware(doc.get("stored_at"))
            if stored_at is not None and stored_at >= recent:
                stamped.append((doc["_id"], stored_at))
            try:
                event = CATALOG.validate(stored_envelope(doc))
            except InvalidEvent as exc:  # stored under an older catalog: keep, report
                log.error("event %s no longer validates: %s", doc["_id"], exc.errors)
                continue
            batch.append(event)
            history.append((event.occurred_at, event.event_id, event))
            if len(batch) >= 1000:
                model.apply(batch)
                batch = []
        model.apply(batch)
        history.sort(key=lambda h: (h[0], h[1]))
        with self.follower.lock:
            self.model, self.history = model, history
            self.follower.start(started_at, stamped)
        with self._lock:
            self._as_of.clear()
        heap.settle()
        log.info("read model rebuilt from %d events in %.2fs", model.applied, time.perf_counter() - started)
        return model

    def find_events(self, event_types: list[str] | None, unit_ids: list[str] | None, since: datetime | None,
                    until: datetime | None, limit: int, after: str | None = None) -> list[dict]:
        """Stored envelopes by type, org unit and the time they occurred (oldest
        first), answered from the store's indexes; `after`: continue after
        that event id (the last one of the previous page)."""
        query: dict = {}
        if event_types:
            query["event_type"] = {"$in": event_types}
        if unit_ids is not None:
            query["org_unit_id"] = {"$in": unit_ids}
        when: dict = {}
        if since:
            when["$gte"] = since
        if until:
            when["$lte"] = until
        cursor_doc = self.db["events"].find_one({"_id": after}, {"occurred_at": 1}) if after else None
        if cursor_doc is not None and "$gte" not in when:
            when["$gte"] = cursor_doc["occurred_at"]      # start at the cursor's instant, not the beginning
        if when:
            query["occurred_at"] = when
        docs = self.db["events"].find(query, STORED_ENVELOPE).sort(
            [("occurred_at", pymongo.ASCENDING), ("_id", pymongo.ASCENDING)])
        out, skipping = [], cursor_doc is not None
        for doc in docs:
            if skipping:            # the events at the cursor's instant up to the cursor itself
                skipping = doc["_id"] != after
                continue
            out.append(decode(stored_envelope(doc)))
            if len(out) >= limit:
                break
        return out

    def cached_summary(self, key: tuple) -> dict | None:
        """A summary computed for `key` = (as_of, model id, events applied, unit, from, to), if kept."""
        with self._lock:
            body = self._summaries.get(key)
            if body is not None:
                self._summaries.move_to_end(key)
            return body

    def cache_summary(self, key: tuple, body: dict) -> dict:
        with self._lock:
            self._summaries[key] = body
            while len(self._summaries) > SUMMARY_CACHE:
                self._summaries.popitem(last=False)
        return body

    # -- "as of": the reports as they stood at the end of a past day ------------------------
    def model_as_of(self, as_of: date | None) -> ReportModel:
        """The read model of the events that had occurred by the end of `as_of`
        (business time): the reports as they could have been read that day.
        Replayed from the in-memory history, kept for the next question."""
        if as_of is None:
            return self.model
        with self._lock:
            if as_of in self._as_of:
                self._as_of.move_to_end(as_of)
                return self._as_of[as_of]
        cutoff = end_of_day(as_of)
        applied_before = self.model.applied
        upto = bisect.bisect_right(self.history, cutoff, key=lambda h: h[0])
        model = ReportModel()
        model.apply([event for _, _, event in self.history[:upto]])
        with self._lock:
            if self.model.applied != applied_before:    # events arrived meanwhile: answer, don't keep
                return model
            self._as_of[as_of] = model
            while len(self._as_of) > AS_OF_CACHE:
                self._as_of.popitem(last=False)
        return model

    # -- snapshots (the downstream feed) --------------------------------------------------------
    def snapshots_since(self, today: date) -> date:
        """Automatic snapshots start from SNAPSHOTS_FROM, else from the day this
        store first ran: a new installation loading years of history does not
        publish a snapshot for every past month (ask for those by POST)."""
        if self._snapshots_since is None:
            doc = self.db["settings"].find_one_and_update(
                {"_id": "snapshots_since"}, {"$setOnInsert": {"day": today.isoformat()}},
                upsert=True, return_document=pymongo.ReturnDocument.AFTER)
            self._snapshots_since = date.fromisoformat(doc["day"])
        return self._snapshots_since

    def snapshot(self, snapshot_id: str) -> dict | None:
        return self.db["snapshots"].find_one({"_id": snapshot_id}, {"outbox": 0})

    def snapshots(self, org_unit_id: str | None = None, granularity: str | None = None,
                  year: int | None = None) -> list[dict]:
        query: dict = {}
        if org_unit_id:
            query["org_unit_id"] = org_unit_id
        if granularity:
            query["granularity"] = granularity
        docs = list(self.db["snapshots"].find(query, {"outbox": 0}).sort("published_seq", pymongo.ASCENDING))
        if year is not None:
            docs = [d for d in docs if d["period_start"].startswith(str(year))]
        return docs

    def publish_snapshot(self, unit_id: str, period: "snapshot_rules.ClosedPeriod", today: date,
                         events_for) -> tuple[dict, bool]:
        """Store the period's snapshot with its report_published event, once.
        Returns (snapshot, created). `events_for(doc)` builds the envelopes."""
        snapshot_id = period.snapshot_id(unit_id)
        existing = self.snapshot(snapshot_id)
        if existing is not None:
            return existing, False
        model = self.model
        earlier = self.snapshots(unit_id)
        notes = snapshot_rules.corrections(
            earlier, lambda s: model.summary(unit_id, date.fromisoformat(s["period_start"]),
                                             date.fromisoformat(s["period_end"])))
        doc = {"_id": snapshot_id, "org_unit_id": unit_id, "granularity": period.granularity,
               "period": period.label, "period_start": period.start.isoformat(),
               "period_end": period.end.isoformat(), "published_on": today.isoformat(),
               "published_at": datetime.now(timezone.utc).isoformat(),
               "published_seq": (earlier[-1]["published_seq"] + 1) if earlier else 1,
               "events_applied": model.applied,
               "summary": model.summary(unit_id, period.start, period.end), "corrections": notes}
        try:
            self.db.insert_with_events("snapshots", doc, events_for(doc))
        except Exception as exc:
            if is_duplicate_key(exc):      # published concurrently: the first one stands
                return self.snapshot(snapshot_id), False
            raise
        doc.pop("outbox", None)
        return doc, True
