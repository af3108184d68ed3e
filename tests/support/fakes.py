"""Fakes and builders shared by the unit tests (no broker)."""
from __future__ import annotations

from uuid import uuid4

from lianxin.personal_data import Vault
from lianxin.store import ServiceDb, client_for
from services.membership.store import MembershipStore


class NotifyRecorder:
    """Stands in for the relay: records what each write told it to publish."""

    def __init__(self):
        self.calls = []

    def __call__(self, collection, ids, events):
        self.calls.append((collection, ids, events))

    def types(self, event_type=None):
        found = [e["event_type"] for _, _, events in self.calls for e in events]
        return found if event_type is None else [t for t in found if t == event_type]


def fresh_database():
    """A new database on the embedded store: tests never see each other's data."""
    return client_for(None)[f"t_{uuid4().hex}"]


def membership_store(notify=None) -> MembershipStore:
    db = ServiceDb(fresh_database(), MembershipStore.OUTBOX_COLLECTIONS, notify=notify)
    return MembershipStore(db, Vault("k"))
