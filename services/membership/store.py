"""Membership's collections, behind domain-language methods (no nameko).

org_units  _id = org unit id; `ancestors` for subtree queries
members    _id = member id; ID number and phone sealed by the vault
Each document carries its own outbox (lianxin.store.ServiceDb).
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import pymongo

import logging

from lianxin.personal_data import DEV_DATA_KEY, Vault
from lianxin.store import ServiceDb

from .domain import Member, OrgUnit


def _day(value) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def _stored_day(value: date | None):
    # BSON has no date type: days are stored as midnight UTC datetimes.
    return None if value is None else datetime(value.year, value.month, value.day, tzinfo=timezone.utc)


class MembershipStore:
    OUTBOX_COLLECTIONS = ("org_units", "members")
    INDEXES = {
        "org_units": [([("ancestors", pymongo.ASCENDING)], {"name": "subtree"}),
                      ([("parent_id", pymongo.ASCENDING)], {"name": "children"})],
        "members": [([("org_unit_id", pymongo.ASCENDING)], {"name": "by_unit"}),
                    ([("id_number_hash", pymongo.ASCENDING)], {"name": "by_id_number", "sparse": True})],
    }

    def __init__(self, db: ServiceDb, vault: Vault):
        self.db = db
        self.vault = vault

    @classmethod
    def from_config(cls, db: ServiceDb, config: dict) -> "MembershipStore":
        key = config.get("LIANXIN_DATA_KEY")
        if not key:
            logging.getLogger("lianxin.membership").warning(
                "LIANXIN_DATA_KEY is unset: personal data is sealed with the DEVELOPMENT key")
        return cls(db, Vault(key or DEV_DATA_KEY))

    # -- org units ----------------------------------------------------------------
    def org_unit_doc(self, unit_id: str) -> dict | None:
        return self.db["org_units"].find_one({"_id": unit_id})

    def get_org_unit(self, unit_id: str | None) -> OrgUnit | None:
        doc = self.org_unit_doc(unit_id) if unit_id else None
        return self._org_unit(doc) if doc else None

    def add_org_unit(self, unit: OrgUnit, fingerprint: str, events: list[dict]) -> None:
        self.db.insert_with_events("org_units", {
            "_id": unit.id, "name": unit.name, "level": unit.level, "parent_id": unit.parent_id,
            "ancestors": list(unit.ancestors), "request_hash": fingerprint,
            "created_at": datetime.now(timezone.utc),
        }, events)

    def children(self, unit_id: str) -> list[OrgUnit]:
        docs = self.db["org_units"].find({"parent_id": unit_id}).sort("_id", 1)
        return [self._org_unit(d) for d in docs]

    @staticmethod
    def _org_unit(doc: dict) -> OrgUnit:
        return OrgUnit(doc["_id"], doc["name"], doc["level"], doc.get("parent_id"), tuple(doc.get("ancestors", ())))

    # -- members --------------------------------------------------------------------
    def member_doc(self, member_id: str) -> dict | None:
        return self.db["members"].find_one({"_id": member_id})

    def get_member(self, member_id: str) -> Member | None:
        doc = self.member_doc(member_id)
        return self._member(doc) if doc else None

    def add_member(self, member: Member, fingerprint: str, events: list[dict]) -> None:
        self.db.insert_with_events("members", {
            "_id": member.id, "name": member.name, "gender": member.gender,
            "birth_date": _stored_day(member.birth_date), "org_unit_id": member.org_unit_id,
            "stage": member.stage, "stage_since": _stored_day(member.stage_since),
            "admitted_on": _stored_day(member.admitted_on), "status": member.status,
            "id_number": self.vault.seal(member.id_number),
            "id_number_hash": self.vault.lookup_hash(member.id_number),
            "phone": self.vault.seal(member.phone),
            "stage_history": [{"stage": s, "since": _stored_day(d)} for s, d in member.stage_history],
            "request_hash": fingerprint, "created_at": datetime.now(timezone.utc),
        }, events)

    def _member(self, doc: dict) -> Member:
        return Member(
            id=doc["_id"], name=doc["name"], gender=doc["gender"], birth_date=_day(doc["birth_date"]),
            org_unit_id=doc["org_unit_id"], stage=doc["stage"], stage_since=_day(doc["stage_since"]),
            admitted_on=_day(doc.get("admitted_on")), status=doc.get("status", "active"),
            id_number=self.vault.open(doc.get("id_number")), phone=self.vault.open(doc.get("phone")),
            stage_history=tuple((h["stage"], _day(h["since"])) for h in doc.get("stage_history", ())),
        )
