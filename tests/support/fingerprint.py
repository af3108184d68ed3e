"""A cheap fingerprint of stored data: to show that a refused write stored nothing."""
from __future__ import annotations

import hashlib
import json


def collection_digest(collection) -> tuple[int, str, int]:
    """(documents, digest of their contents, outbox entries) of one collection:
    an update in place shows as well as an insert."""
    # The embedded store's documents as stored (a find() would deep-copy each one).
    docs = getattr(getattr(collection, "_store", None), "_documents", None)
    if docs is None:
        docs = {d["_id"]: d for d in collection.find({})}
    digest, pending = hashlib.blake2b(digest_size=12), 0
    for key in sorted(docs, key=str):
        doc = docs[key]
        pending += len(doc.get("outbox") or ())
        digest.update(json.dumps(doc, sort_keys=True, default=str).encode())
    return len(docs), digest.hexdigest(), pending


def database_fingerprint(database, counted_only: tuple[str, ...] = ()) -> dict:
    """{collection: (documents, digest)} and "pending": the outbox entries of all.
    Collections in `counted_only` (append-only logs) are only counted."""
    out, pending = {}, 0
    for name in sorted(database.list_collection_names()):
        collection = database[name]
        if name in counted_only:
            out[name] = (collection.count_documents({}), "")
            continue
        count, digest, waiting = collection_digest(collection)
        out[name] = (count, digest)
        pending += waiting
    out["pending"] = pending
    return out
