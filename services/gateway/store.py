"""The gateway's own data: API keys (hashes only), the audit log, and the
writes queued while the broker was down.

The audit log lives in its own database (`<prefix>_audit`). Its API here
only appends and reads: nothing in Lianxin updates or deletes an entry. In
the compose deployment the gateway's MongoDB user holds a role on that
database with find/insert (and index upkeep) but no update or remove, so
not even a bug or a compromised gateway can rewrite it. Entries expire by a
TTL index (the retention period), which MongoDB itself enforces.

Queued writes (`queued_writes`, services/gateway/outage.py): an HTTP write
with an intake form, accepted (202) while the broker was unreachable. Each
document carries its intake envelope in its outbox, so the gateway's relay
publishes it to lianxin.intake (OUTBOX_EXCHANGES) once the broker is back;
the document stays as the record of what was queued, by whom and when.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import pymongo
from pymongo.errors import OperationFailure

from lianxin import access, audit, topology
from lianxin.store import OUTBOX, ping, utc_now

log = logging.getLogger("lianxin.gateway.store")

DEFAULT_RETENTION_DAYS = 180     # 等保 2.0: audit records kept at least six months
UNAUTHORIZED = 13                # MongoDB's error code for a missing privilege


QUEUED_WRITES = "queued_writes"


class GatewayStore:
    INDEXES = {"api_keys": [([("created_at", pymongo.ASCENDING)], {"name": "by_created_at"})]}
    OUTBOX_COLLECTIONS = (QUEUED_WRITES,)
    # Queued writes are intake envelopes: they go where other systems publish theirs.
    OUTBOX_EXCHANGES = {QUEUED_WRITES: topology.INTAKE_EXCHANGE}

    def __init__(self, db, audit_db, retention_days: int = DEFAULT_RETENTION_DAYS):
        self.db = db                       # a ServiceDb in the service (queue_write needs its outbox)
        self.keys = db["api_keys"]
        self.audit = audit_db["entries"]
        self.retention_days = retention_days
        try:
            self._ensure_retention()
            self.audit.create_index([("who.key_id", pymongo.ASCENDING), ("at", pymongo.DESCENDING)],
                                    name="by_key")
        except OperationFailure as exc:
            if exc.code != UNAUTHORIZED:
                raise
            # The deployment made the indexes as root (deploy/mongo/create-users.js): this
            # user may only find and insert there. Check the retention instead.
            self._check_retention()

    @classmethod
    def from_config(cls, db, config: dict) -> "GatewayStore":
        prefix = config.get("DB_PREFIX") or "lianxin"
        days = int(config.get("AUDIT_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS)
        return cls(db, db.db.client[f"{prefix}_audit"], days)

    def _ensure_retention(self) -> None:
        seconds = self.retention_days * 86400
        try:
            self.audit.create_index("at", name="retention", expireAfterSeconds=seconds)
        except OperationFailure as exc:
            if exc.code == UNAUTHORIZED:
                raise
            # The period changed since the index was made: change it in place
            # (the embedded store has no collMod; there the index is rebuilt).
            from lianxin.store import is_embedded_client
            if is_embedded_client(self.audit.database.client):
                self.audit.drop_index("retention")
                self.audit.create_index("at", name="retention", expireAfterSeconds=seconds)
            else:
                self.audit.database.command({"collMod": self.audit.name,
                                             "index": {"name": "retention", "expireAfterSeconds": seconds}})

    def _check_retention(self) -> None:
        found = self.audit.index_information().get("retention", {}).get("expireAfterSeconds")
        if found != self.retention_days * 86400:
            log.error("the audit log's retention index is %s, not %d days: run deploy/mongo/create-users.js "
                      "as root with LIANXIN_AUDIT_RETENTION_DAYS=%d", "missing" if found is None else
                      f"{found / 86400:g} days", self.retention_days, self.retention_days)

    # -- API keys ------------------------------------------------------------------------
    def issue_key(self, name: str, role: str, scope: str | None, created_by: dict,
                  expires_at: datetime | None = None) -> tuple[dict, str]:
        """(the stored key, its token): the token exists only in this answer."""
        key_id, token = access.new_token()
        doc = {"_id": key_id, "name": name, "role": role, "scope": scope,
               "secret_hash": access.secret_hash(access.parse_token(token)[1]),
               "created_at": utc_now(), "created_by": created_by, "expires_at": expires_at, "revoked_at": None}
        self.keys.insert_one(doc)
        return doc, token

    def principal_for(self, token: str) -> access.Principal | None:
        """The key behind a token, if it is known, not revoked, not expired."""
        parsed = access.parse_token(token)
        if parsed is None:
            return None
        doc = self.keys.find_one({"_id": parsed[0]})
        if doc is None or doc.get("revoked_at") is not None or not access.same_secret(parsed[1], doc["secret_hash"]):
            return None
        if doc.get("expires_at") is not None and _aware(doc["expires_at"]) <= utc_now():
            return None
        return access.Principal(key_id=doc["_id"], name=doc["name"], role=doc["role"], scope=doc.get("scope"))

    def get_key(self, key_id: str) -> dict | None:
        return self.keys.find_one({"_id": key_id})

    def list_keys(self) -> list[dict]:
        return list(self.keys.find({}, sort=[("created_at", pymongo.ASCENDING)]))

    def revoke_key(self, key_id: str) -> dict | None:
        """The key, revoked now (or when it first was); None if unknown."""
        self.keys.update_one({"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": utc_now()}})
        return self.get_key(key_id)

    # -- writes queued while the broker is down ---------------------------------------------
    def queue_write(self, envelope: dict, route: str, entity_id: str, key_id: str | None) -> None:
        """Store a queued write with its envelope in the outbox (one document write):
        durable once this returns, published by the relay when the broker is back."""
        self.db.insert_with_events(QUEUED_WRITES, {
            "_id": envelope["event_id"], "route": route, "event_type": envelope["event_type"],
            "entity_id": entity_id, "key_id": key_id, "queued_at": utc_now()}, [envelope])

    def queued_write(self, event_id: str) -> dict | None:
        """A queued write, with `published` (its envelope has left the outbox)."""
        doc = self.db[QUEUED_WRITES].find_one({"_id": event_id})
        if doc is None:
            return None
        return {**{k: v for k, v in doc.items() if k != OUTBOX}, "published": not doc.get(OUTBOX)}

    # -- audit log: append and read, nothing else ------------------------------------------
    def append_audit(self, entry: dict) -> None:
        self.audit.insert_one(audit.stamped(entry))

    def audit_entries(self, since: datetime | None = None, until: datetime | None = None,
                      key_id: str | None = None, action: str | None = None, limit: int = 100) -> list[dict]:
        query: dict = {}
        if since or until:
            query["at"] = {**({"$gte": since} if since else {}), **({"$lt": until} if until else {})}
        if key_id:
            query["who.key_id"] = key_id
        if action:
            query["action"] = action
        return list(self.audit.find(query, sort=[("at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)],
                                   limit=limit))

    def ping(self) -> bool:
        return ping(self.keys.database.client)


def _aware(value: datetime) -> datetime:
    # MongoDB hands back naive UTC datetimes unless the client is tz-aware.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
