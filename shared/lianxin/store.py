"""The store: MongoDB from MONGO_URI, or the embedded in-memory store.

Atomicity comes from single-document writes (DESIGN.md rule 2): a state
change and the events it causes are written into the same document, under
`outbox`. The relay (relay.py) publishes them and pulls them out again.
The embedded store (mongomock) has no transactions, so this is also the
only pattern that works the same on both.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from datetime import date, datetime, timezone
from typing import Callable, Iterable

import bson
import pymongo
from bson.codec_options import CodecOptions
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

log = logging.getLogger("lianxin.store")

OUTBOX = "outbox"
_clients: dict[str | None, object] = {}
_lock = threading.Lock()


def client_for(uri: str | None):
    """One client per URI per process; None -> the embedded in-memory store."""
    with _lock:
        if uri not in _clients:
            if uri:
                _clients[uri] = pymongo.MongoClient(uri, tz_aware=True, retryWrites=True)
                log.info("store: MongoDB at %s", _redact(uri))
            else:
                import mongomock
                _install_embedded_id_lookup()
                _clients[uri] = mongomock.MongoClient(tz_aware=True)
                log.warning("store: MONGO_URI is unset, using the EMBEDDED IN-MEMORY store "
                            "(development only: data ends with the process)")
        return _clients[uri]


def is_embedded(uri: str | None) -> bool:
    return not uri


def ping(client) -> bool:
    try:
        client.admin.command("ping")
        return True
    except Exception:  # noqa: BLE001 - readiness only reports
        return False


def _redact(uri: str) -> str:
    if "@" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return uri


def _install_embedded_id_lookup() -> None:
    """Give mongomock the `_id` index MongoDB has.

    mongomock filters by scanning every document, so at 20,000 documents a
    find_one by `_id` runs ~40/s (DESIGN.md). Its store already keys documents
    by `_id`; for filters on `_id` (a value or `$in`) we look them up directly
    and apply the full filter to those candidates only. Results are identical.
    """
    from mongomock import collection as mc
    from mongomock.filtering import filter_applies

    if getattr(mc.Collection, "_lianxin_id_lookup", False):
        return
    original = mc.Collection._iter_documents

    def _iter_documents(self, filter):
        if isinstance(filter, dict) and "_id" in filter:
            wanted = filter["_id"]
            if isinstance(wanted, dict):
                keys = wanted.get("$in") if list(wanted) == ["$in"] else None
            elif isinstance(wanted, (str, int)):
                keys = [wanted]
            else:
                keys = None
            if keys is not None:
                docs = self._store._documents
                found = [docs[k] for k in dict.fromkeys(keys) if isinstance(k, (str, int)) and k in docs]
                # The _id condition holds by construction; re-checking an $in
                # against every candidate would make large batches quadratic.
                rest = {k: v for k, v in filter.items() if k != "_id"}
                return (d for d in found if filter_applies(rest, d))
        return original(self, filter)

    mc.Collection._iter_documents = _iter_documents
    mc.Collection._lianxin_id_lookup = True


def is_embedded_client(client) -> bool:
    return type(client).__module__.startswith("mongomock")


def _pull_outbox_entries_embedded(collection, docs: dict[object, list]) -> None:
    """The embedded store's equivalent of one `$pull` per document.

    mongomock runs each `$pull` through its general update machinery (~150 µs
    per document, the relay's largest cost); this edits the stored documents'
    outbox lists directly, under the collection's write lock, with the same
    effect: each document loses exactly its confirmed event ids.
    """
    store = collection._store
    with store._rwlock.writer():
        for doc_id, event_ids in docs.items():
            doc = store._documents.get(doc_id)
            if doc is not None and doc.get(OUTBOX):
                gone = set(event_ids)
                doc[OUTBOX] = [e for e in doc[OUTBOX] if e["event_id"] not in gone]


_STORED_FORM = CodecOptions(tz_aware=False)     # mongomock keeps naive UTC datetimes


def _insert_many_embedded(collection, docs: list[dict]) -> list[dict] | None:
    """The embedded store's insert of new documents (duplicate `_id`s skipped),
    or None when the collection needs mongomock's own path.

    mongomock validates each document by encoding it to BSON, then copies it
    in Python, converting datetimes to naive UTC with MongoDB's millisecond
    precision (~40-100 µs per document: a third of an event's cost on either
    side of the bench). Decoding that BSON gives the same stored form in C.
    Only `_id` uniqueness is checked here, so a collection with a unique
    secondary index (or a TTL index) goes through mongomock; so does any
    document BSON refuses, which then fails there with mongomock's error.
    """
    store = collection._store
    if store._ttl_indexes or any(spec.get("unique") for spec in store.indexes.values()):
        return None
    try:
        stored = [bson.decode(bson.encode(d), codec_options=_STORED_FORM) for d in docs]
    except Exception:  # noqa: BLE001 - mongomock's path raises its own, familiar error
        return None
    if not all(type(d["_id"]) in (str, int) for d in docs):
        return None
    inserted = []
    with store._rwlock.writer():
        for doc, form in zip(docs, stored):
            if doc["_id"] not in store._documents:
                store._documents[doc["_id"]] = form
                inserted.append(doc)
    return inserted


def scan(collection, fields: Iterable[str], batch_size: int = 10_000):
    """Every document's `fields` (absent ones left out), for reading a whole
    collection once, e.g. to rebuild a read model at start.

    On MongoDB: a find with that projection, in large batches. On the embedded
    store: the stored documents' values as they are kept, without mongomock's
    per-document deep copy (~50 µs each, most of a rebuild's time); only
    immutable values may be asked for this way (the fields are not copied),
    and datetimes come back naive UTC, as the embedded store keeps them.
    """
    fields = tuple(fields)
    if is_embedded_client(collection.database.client):
        store = collection._store
        with store._rwlock.reader():
            docs = list(store._documents.values())
        for doc in docs:
            yield {k: doc[k] for k in fields if k in doc}
        return
    yield from collection.find({}, {k: 1 for k in fields}, batch_size=batch_size)


def as_day(value) -> date | None:
    """A stored day back to a date (BSON keeps days as midnight-UTC datetimes)."""
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def stored_day(value: date | None) -> datetime | None:
    """A date as BSON can keep it: midnight UTC."""
    return None if value is None else datetime(value.year, value.month, value.day, tzinfo=timezone.utc)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def fingerprint(command: dict) -> str:
    """A stable hash of a validated command, minus its id: same body, same print.
    Dates and times are written as ISO strings wherever they are (stored
    prints were made that way: the text must never change)."""
    body = {k: v for k, v in command.items() if k != "id"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_iso_text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _iso_text(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def is_duplicate_key(exc: Exception) -> bool:
    return isinstance(exc, DuplicateKeyError) or getattr(exc, "code", None) == 11000


def insert_many_new(collection, docs: list[dict]) -> list[dict]:
    """Insert what is new, in one round trip; return the documents inserted.

    A document whose `_id` exists already (or repeats within `docs`) is
    skipped: the `_id` is the processed-event marker, written with the effect,
    so a redelivered or duplicated event has no second effect.
    """
    seen: set = set()
    unique = [d for d in docs if not (d["_id"] in seen or seen.add(d["_id"]))]  # first wins
    if not unique:
        return []
    if is_embedded_client(collection.database.client):
        inserted = _insert_many_embedded(collection, unique)
        if inserted is not None:
            return inserted
    try:
        collection.insert_many(unique, ordered=False)
        return unique
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        skipped = {e["index"] for e in errors}
        return [d for i, d in enumerate(unique) if i not in skipped]


def stored_events(collection, query: dict | None = None) -> list:
    """Validated Events from documents that keep an `envelope` (for rebuilding
    read models at start); one that no longer validates is logged and skipped."""
    from .catalog import CATALOG, InvalidEvent
    events = []
    for doc in collection.find(query or {}, {"envelope": 1}):
        try:
            events.append(CATALOG.validate(doc["envelope"]))
        except InvalidEvent as exc:
            log.error("stored event %s no longer validates: %s", doc["_id"], exc.errors)
    return events


class ServiceDb:
    """A service's database plus its outbox: the only way services write events.

    `notify` is called after each committed write with the envelopes it
    recorded, so the relay can publish at once instead of waiting for a sweep.
    """

    def __init__(self, database, outbox_collections: Iterable[str], notify: Callable[[str, list, list], None] | None = None):
        self.db = database
        self.outbox_collections = tuple(outbox_collections)
        self._collections: dict = {}
        self._notify = notify or (lambda collection, ids, events: None)

    def __getitem__(self, name):
        # Collection objects are kept: mongomock builds a new one (with its
        # options) on every `db[name]`, ~30 µs, several times per command.
        collection = self._collections.get(name)
        if collection is None:
            collection = self._collections[name] = self.db[name]
        return collection

    def ensure_indexes(self, indexes: dict[str, list]) -> None:
        """indexes: {collection: [IndexModel-style (keys, kwargs)]} created at start."""
        for name in self.outbox_collections:
            # Finds pending outbox entries without a full scan on MongoDB.
            self[name].create_index([("outbox.event_id", pymongo.ASCENDING)], sparse=True,
                                       name="outbox_pending")
        for name, specs in indexes.items():
            for keys, kwargs in specs:
                self[name].create_index(keys, **kwargs)

    # -- writes that record events ------------------------------------------
    @staticmethod
    def _entries(events: list[dict]) -> list[dict]:
        recorded_at = datetime.now(timezone.utc)
        return [{"event_id": e["event_id"], "recorded_at": recorded_at, "envelope": e} for e in events]

    def insert_with_events(self, collection: str, doc: dict, events: list[dict]) -> None:
        """Insert a document and its events in one write. Raises DuplicateKeyError."""
        doc = dict(doc)
        doc[OUTBOX] = self._entries(events)
        self[collection].insert_one(doc)
        self._notify(collection, [doc["_id"]], events)

    def insert_many_with_events(self, collection: str, docs_events: list[tuple[dict, list[dict]]]) -> set:
        """Batch insert; each document carries its own events. Returns ids inserted."""
        docs = []
        for doc, events in docs_events:
            doc = dict(doc)
            doc[OUTBOX] = self._entries(events)
            docs.append(doc)
        fresh = insert_many_new(self[collection], docs)
        for d in fresh:
            self._notify(collection, [d["_id"]], [e["envelope"] for e in d[OUTBOX]])
        return {d["_id"] for d in fresh}

    def update_with_events(self, collection: str, filter: dict, update: dict, events: list[dict]) -> bool:
        """Update one document and append its events atomically; False if no match."""
        update = {k: dict(v) for k, v in update.items()}
        update.setdefault("$push", {})[OUTBOX] = {"$each": self._entries(events)}
        # find_one_and_update tells which document took the events, so the
        # relay can clear them there even when the filter is not by _id.
        doc = self[collection].find_one_and_update(filter, update, projection={"_id": 1})
        if doc is not None:
            self._notify(collection, [doc["_id"]], events)
        return doc is not None

    def add_to_list(self, collection: str, doc_id: str, field: str, value) -> None:
        """Append `value` to the document's list `field` unless it is there,
        creating the document if needed: `$addToSet` with upsert, one write.
        (For indexes kept beside the data, e.g. a member-week's deed ids.)"""
        if is_embedded_client(self.db.client):
            # mongomock's update machinery costs ~250 µs for this; the stored
            # document is edited in place under the collection's write lock.
            store = self[collection]._store
            with store._rwlock.writer():
                doc = store._documents.get(doc_id)
                if doc is None:
                    store._documents[doc_id] = {"_id": doc_id, field: [value]}
                elif value not in doc.setdefault(field, []):
                    doc[field].append(value)
            return
        try:
            self[collection].update_one({"_id": doc_id}, {"$addToSet": {field: value}}, upsert=True)
        except DuplicateKeyError:
            # Two upserts of a new document raced; it exists now.
            self[collection].update_one({"_id": doc_id}, {"$addToSet": {field: value}})

    # -- rejections (written by the consumer, read by the API) -----------------
    def rejections(self, limit: int = 100) -> list[dict]:
        docs = self["rejections"].find({}, {"_id": 0}).sort("rejected_at", -1).limit(limit)
        return list(docs)

    def health(self) -> dict:
        return {"store": ping(self.db.client)}

    # -- the relay's side -----------------------------------------------------
    def pending_events(self, limit: int = 1000) -> list[tuple[str, object, dict, datetime]]:
        """(collection, doc id, envelope, recorded at) for events not yet published."""
        out = []
        for name in self.outbox_collections:
            # Served by the outbox_pending index on MongoDB (documents without
            # pending events have an empty outbox, so no outbox.event_id).
            for doc in self[name].find({f"{OUTBOX}.event_id": {"$exists": True}}, {OUTBOX: 1}):
                for entry in doc[OUTBOX]:
                    recorded_at = entry["recorded_at"]
                    if recorded_at.tzinfo is None:  # mongomock/pymongo without tz_aware
                        recorded_at = recorded_at.replace(tzinfo=timezone.utc)
                    out.append((name, doc["_id"], entry["envelope"], recorded_at))
                    if len(out) >= limit:
                        return out
        return out

    def outbox_backlog(self) -> tuple[int, datetime | None]:
        """(pending outbox entries, the oldest one's recorded_at or None): a
        true count over every outbox collection, for the backlog gauges."""
        count, oldest = 0, None
        for name in self.outbox_collections:
            if is_embedded_client(self.db.client):
                # the stored documents, read as kept (mongomock's find copies each one)
                store = self[name]._store
                with store._rwlock.reader():
                    lists = [d.get(OUTBOX) for d in store._documents.values()]
                entries = [e for outbox in lists if outbox for e in outbox]
                times = [e["recorded_at"] for e in entries]
                found = (len(entries), min(times) if times else None)
            else:
                # served by the outbox_pending index (sparse on outbox.event_id)
                found = next(iter(self[name].aggregate([
                    {"$match": {f"{OUTBOX}.event_id": {"$exists": True}}},
                    {"$group": {"_id": None, "n": {"$sum": {"$size": f"${OUTBOX}"}},
                                "oldest": {"$min": {"$min": f"${OUTBOX}.recorded_at"}}}},
                ])), None)
                found = (found["n"], found["oldest"]) if found else (0, None)
            count += found[0]
            if found[1] is not None:
                at = found[1] if found[1].tzinfo else found[1].replace(tzinfo=timezone.utc)
                oldest = at if oldest is None or at < oldest else oldest
        return count, oldest

    def mark_published(self, published: list[tuple[str, object, str]]) -> None:
        """Pull confirmed events out of their documents' outboxes: each document
        loses exactly its own confirmed events, in one bulk write per collection."""
        by_doc: dict[str, dict[object, list]] = {}
        for collection, doc_id, event_id in published:
            by_doc.setdefault(collection, {}).setdefault(doc_id, []).append(event_id)
        for collection, docs in by_doc.items():
            if is_embedded_client(self.db.client):
                _pull_outbox_entries_embedded(self[collection], docs)
                continue
            self[collection].bulk_write(
                [UpdateOne({"_id": doc_id}, {"$pull": {OUTBOX: {"event_id": {"$in": eids}}}})
                 for doc_id, eids in docs.items()], ordered=False)
