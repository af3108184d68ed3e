"""Following what other instances of the same service stored (scale-out).

Several instances of a service consume the same queues: RabbitMQ gives each
delivery to ONE of them. The events a service keeps in memory as a read model
(activities', inspections' and honours' MembershipView, honours' Eligibility,
reporting's ReportModel) are also stored, once each, in a collection of
received events. A `Follower` tails that collection and hands the events some
other instance stored to the store's apply method, so every instance's read
model converges to the model of ALL stored events, as a rebuild would make it.

How it finds them: every received-event document carries a stamp (UTC, taken
by the instance that inserted it, just before the insert). The follower polls
for documents stamped since its previous poll minus a margin, and skips the
ids it has applied already (its own consumer's included):

  * every `interval` (0.2 s): documents stamped since the previous poll's
    start minus `recent` (2 s): the usual commit delay is milliseconds;
  * every `sweep_every` (10 s): since the previous sweep's start minus
    `lookback` (30 s): this covers slow commits (a writer paused between
    stamping and committing) and modest clock skew between instances' hosts
    (a writer whose clock is behind stamps in the past). A document that
    became visible more than `lookback` after its stamp is not followed; a
    restart (whose rebuild reads everything) picks it up.

Applied ids are remembered for `2 * lookback + sweep_every` (longer than any
poll looks back, plus the same again for a writer whose clock is ahead),
then forgotten. Only ids and stamps are read by a poll (a covered query on
the stamp index on MongoDB); the documents themselves are read only for the
ids not applied yet, i.e. what another instance stored.

Once each: the local apply path (consume: insert, then apply what was new)
and the follower's apply both run under `lock`, and both mark what they
applied, so an event is never applied twice in one instance, whichever of
the two sees it first.

Cost. On MongoDB a poll reads the ids in its window from the stamp index:
about (recent + interval) / interval = 11 times the rate events are stored,
plus a sweep's (lookback + sweep_every) / sweep_every = 4 times; at the
rates Lianxin sees (events a second) that is nothing, at bench rates (10,000
a second) ~150,000 index keys a second: poll less often there (`interval`).
On the embedded store (mongomock: one process, so only instances started in
it, e.g. by the tests) a poll walks back from the newest document to the
newest one the previous poll saw (EmbeddedTail): an idle poll costs ~0.1 ms
at a million stored events, where a query would scan them all (seconds).

No nameko here: the service's store owns a Follower, and the nameko
StoreProvider calls the store's `follow_once` every FOLLOW_INTERVAL seconds.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

from .store import is_embedded_client, utc_now

log = logging.getLogger("lianxin.follow")

FOLLOW_INTERVAL = 0.2
RECENT = 2.0
LOOKBACK = 30.0
SWEEP_EVERY = 10.0


def aware(value: datetime | None) -> datetime | None:
    """Stored stamps back to aware UTC (the embedded store keeps naive UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def stamped_since(collection, stamp: str, since: datetime) -> list[tuple[object, datetime]]:
    """(id, stamp) of the documents stamped at or after `since`, oldest first.

    MongoDB: a query served (and covered) by the index on (stamp, _id).
    Embedded store: see EmbeddedTail (without its mark: the walk back to the
    first stretch stamped before `since`)."""
    if not is_embedded_client(collection.database.client):
        cursor = collection.find({stamp: {"$gte": since}}, {"_id": 1, stamp: 1})
        return [(d["_id"], aware(d[stamp])) for d in cursor]
    return [(doc["_id"], aware(doc.get(stamp))) for doc in EmbeddedTail(collection, stamp).since(since)]


class EmbeddedTail:
    """The newest documents of an embedded (mongomock) collection.

    mongomock keeps a collection's documents in a dict in insertion order, and
    a document is there as soon as it is written (no commit delay): what was
    stored since the previous walk is exactly what comes after the newest
    document that walk saw. So a walk goes back from the end to that document
    (found by identity: one deleted and stored again is a new object), or,
    without it (first walk, or it was deleted), to the first stretch stamped
    before `since` (stamps follow insertion order up to a greenlet switch
    between stamping and inserting; documents without a stamp were stored
    before stamps existed). A poll costs the new documents, not the window
    (at 10,000 events/s a 2 s window is 20,000 documents, ~70 ms per walk),
    and never a scan of the collection (a million events: seconds).
    """

    def __init__(self, collection, stamp: str):
        self.collection = collection
        self.stamp = stamp
        self._mark = None           # the newest document the previous walk saw

    def since(self, since: datetime) -> list[dict]:
        naive = since.astimezone(timezone.utc).replace(tzinfo=None)
        store = self.collection._store
        mark, stamp = self._mark, self.stamp
        out = []
        older = 0
        with store._rwlock.reader():
            documents = store._documents
            marked = mark is not None and documents.get(mark.get("_id")) is mark
            newest = None
            for doc in reversed(documents.values()):
                if newest is None:
                    newest = doc
                if marked:
                    if doc is mark:
                        break
                    out.append(doc)     # stored since the previous walk, whatever its stamp
                    continue
                value = doc.get(stamp)
                if value is not None and value.tzinfo is not None:
                    value = value.astimezone(timezone.utc).replace(tzinfo=None)
                if value is None or value < naive:
                    older += 1
                    if older >= 64:
                        break
                    continue
                older = 0
                out.append(doc)
        self._mark = newest
        out.reverse()                           # oldest first, as stored
        return out


class Follower:
    """Applies to this instance's read model what other instances stored.

    `apply(docs)` receives the documents (with `fields` and `_id`) of events
    this instance has not applied, one at a time; it must use the same path
    as the local apply. An event it cannot apply (raises) is logged and skipped:
    the instance that consumed it refused it the same way (and dead-lettered it).
    """

    def __init__(self, collection, apply: Callable[[list[dict]], None], *, stamp: str = "received_at",
                 fields: Iterable[str] = ("envelope",), name: str = "", interval: float = FOLLOW_INTERVAL,
                 recent: float = RECENT, lookback: float = LOOKBACK, sweep_every: float = SWEEP_EVERY,
                 clock: Callable[[], datetime] = utc_now):
        self.collection = collection
        self.apply = apply
        self.stamp = stamp
        self.fields = tuple(fields)
        self.name = name or getattr(collection, "name", "events")
        self.interval = interval
        self.recent = timedelta(seconds=recent)
        self.lookback = timedelta(seconds=lookback)
        self.sweep_every = timedelta(seconds=sweep_every)
        self.retain = 2 * self.lookback + self.sweep_every
        self.clock = clock
        self.lock = threading.RLock()
        self._applied: set = set()
        self._order: deque = deque()           # (marked at, id), oldest first
        self._last_poll: datetime | None = None  # start of the previous poll
        self._last_sweep: datetime | None = None
        embedded = is_embedded_client(collection.database.client)
        self._tail = EmbeddedTail(collection, stamp) if embedded else None
        self.followed = 0                      # events applied from other instances
        self.skipped = 0                       # events that could not be applied

    # -- where to start ------------------------------------------------------------
    def start(self, rebuilt_at: datetime, stamped_ids: Iterable[tuple[object, datetime | None]] = ()) -> None:
        """After a rebuild that began at `rebuilt_at` (taken BEFORE reading):
        follow from there minus the lookback; the rebuild's own events stamped
        in that window are marked applied (`stamped_ids`: (id, stamp) pairs,
        older ones and unstamped ones are ignored)."""
        with self.lock:
            self._applied.clear()
            self._order.clear()
            horizon = rebuilt_at - self.lookback - self.sweep_every
            now = self.clock()
            for doc_id, stamp in stamped_ids:
                stamp = aware(stamp)
                if stamp is not None and stamp >= horizon:
                    self._mark(doc_id, now)
            self._last_poll = self._last_sweep = rebuilt_at

    # -- the local path --------------------------------------------------------------
    def applied_here(self, ids: Iterable) -> None:
        """The local consumer applied these (call under `lock`)."""
        now = self.clock()
        for doc_id in ids:
            self._mark(doc_id, now)

    def _mark(self, doc_id, now: datetime) -> None:
        if doc_id not in self._applied:
            self._applied.add(doc_id)
            self._order.append((now, doc_id))

    def knows(self, doc_id) -> bool:
        return doc_id in self._applied

    # -- a poll ---------------------------------------------------------------------
    def poll(self) -> int:
        """One poll; returns how many events it applied."""
        if self._last_poll is None:
            return 0                            # not started: no rebuild yet
        started = self.clock()
        sweep = started - self._last_sweep >= self.sweep_every
        since = (self._last_sweep - self.lookback) if sweep else (self._last_poll - self.recent)
        new = [doc_id for doc_id in self._ids_since(since) if doc_id not in self._applied]
        applied = self._follow(new) if new else 0
        self._last_poll = started
        if sweep:
            self._last_sweep = started
        self._forget(started)
        return applied

    def _ids_since(self, since: datetime) -> list:
        if self._tail is not None:
            return [doc["_id"] for doc in self._tail.since(since)]
        return [doc_id for doc_id, _ in stamped_since(self.collection, self.stamp, since)]

    def _follow(self, ids: list) -> int:
        with self.lock:
            ids = [i for i in dict.fromkeys(ids) if i not in self._applied]   # the local path may have meanwhile
            if not ids:
                return 0
            projection = {f: 1 for f in self.fields}
            docs = list(self.collection.find({"_id": {"$in": ids}}, projection))
            if not docs:
                return 0
            done = []
            for doc in docs:                    # one by one: an event that breaks the model is isolated
                try:
                    self.apply([doc])
                    done.append(doc)
                except Exception:  # noqa: BLE001 - logged, counted, skipped
                    self.skipped += 1
                    log.exception("%s: stored event %s could not be applied here; skipped", self.name, doc["_id"])
            now = self.clock()
            for doc in docs:                    # the skipped ones too: never retried in a loop
                self._mark(doc["_id"], now)
            self.followed += len(done)
            return len(done)

    def _forget(self, now: datetime) -> None:
        horizon = now - self.retain
        order = self._order
        while order and order[0][0] < horizon:
            _, doc_id = order.popleft()
            self._applied.discard(doc_id)


# -- for stores that keep received envelopes under `envelope` ------------------------------

def events_of(docs: Iterable[dict]) -> list:
    """Validated Events from stored documents with an `envelope`; one that no
    longer validates is logged and left out (as lianxin.store.stored_events)."""
    from .catalog import CATALOG, InvalidEvent
    events = []
    for doc in docs:
        try:
            events.append(CATALOG.validate(doc["envelope"]))
        except InvalidEvent as exc:
            log.error("stored event %s no longer validates: %s", doc["_id"], exc.errors)
    return events


def replay(collection, stamp: str = "received_at") -> tuple[list, list[tuple[object, datetime | None]]]:
    """Every stored event (for a rebuild) and the (id, stamp) pairs Follower.start takes."""
    docs = list(collection.find({}, {"envelope": 1, stamp: 1}))
    return events_of(docs), [(d["_id"], d.get(stamp)) for d in docs]
