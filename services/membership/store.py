"""Membership's collections, behind domain-language methods (no nameko).

org_units   _id = org unit id; `ancestors` for subtree queries; `history` of moves and names
party_orgs  _id = Party organisation id
members     _id = member id; transfers live inside the member (one document,
            so a receipt moves the member atomically); ID number and phone
            sealed by the vault; `version` guards concurrent changes
households  _id = household id; its links live inside it, so "one member at
            a time" is a single-document rule
link_ids    _id = link id -> its household: finds a link by _id (an index on MongoDB,
            the only fast lookup of the embedded store); noted before the household
            is written, and trusted only when the household holds the link
Each document carries its own outbox (lianxin.store.ServiceDb).
"""
from __future__ import annotations

import logging
from datetime import date

import pymongo

from lianxin.errors import StaleWrite
from lianxin.personal_data import DEV_DATA_KEY, Vault
from lianxin.store import ServiceDb, as_day, insert_many_new, stored_day, utc_now

from .domain import Household, Link, Member, OrgUnit, PartyOrg, Transfer

log = logging.getLogger("lianxin.membership")





class MembershipStore:
    OUTBOX_COLLECTIONS = ("org_units", "party_orgs", "members", "households")
    INDEXES = {
        "org_units": [([("ancestors", pymongo.ASCENDING)], {"name": "subtree"}),
                      ([("parent_id", pymongo.ASCENDING)], {"name": "children"})],
        "party_orgs": [([("org_unit_id", pymongo.ASCENDING)], {"name": "by_unit"})],
        "members": [([("org_unit_id", pymongo.ASCENDING)], {"name": "by_unit"}),
                    ([("id_number_hash", pymongo.ASCENDING)], {"name": "by_id_number", "sparse": True}),
                    ([("transfers.id", pymongo.ASCENDING)], {"name": "by_transfer", "sparse": True}),
                    ([("status", pymongo.ASCENDING), ("stage", pymongo.ASCENDING)], {"name": "by_status"})],
        "households": [([("links.id", pymongo.ASCENDING)], {"name": "by_link"}),
                       ([("org_unit_id", pymongo.ASCENDING)], {"name": "by_unit"}),
                       ([("current_member_id", pymongo.ASCENDING)], {"name": "by_member", "sparse": True})],
    }

    def __init__(self, db: ServiceDb, vault: Vault):
        self.db = db
        self.vault = vault
        self._index_link_ids()

    def _index_link_ids(self) -> None:
        """Build link_ids for links stored before it existed (once)."""
        if self.db["link_ids"].find_one({}) is not None or self.db["households"].find_one({}) is None:
            return
        docs = [{"_id": link["id"], "household_id": doc["_id"]}
                for doc in self.db["households"].find({}, {"links": 1}) for link in doc.get("links", [])]
        insert_many_new(self.db["link_ids"], docs)
        log.info("indexed %d household links", len(docs))

    def _household_doc_of_link(self, link_id: str, projection: dict | None = None) -> dict | None:
        entry = self.db["link_ids"].find_one({"_id": link_id})
        if entry is None:
            return None
        return self.db["households"].find_one({"_id": entry["household_id"], "links.id": link_id}, projection)

    @classmethod
    def from_config(cls, db: ServiceDb, config: dict) -> "MembershipStore":
        key = config.get("LIANXIN_DATA_KEY")
        if not key:
            log.warning("LIANXIN_DATA_KEY is unset: personal data is sealed with the DEVELOPMENT key")
        return cls(db, Vault(key or DEV_DATA_KEY))

    # -- org units ----------------------------------------------------------------
    def org_unit_doc(self, unit_id: str) -> dict | None:
        return self.db["org_units"].find_one({"_id": unit_id})

    def get_org_unit(self, unit_id: str | None) -> OrgUnit | None:
        doc = self.org_unit_doc(unit_id) if unit_id else None
        return self.org_unit(doc) if doc else None

    def add_org_unit(self, unit: OrgUnit, fingerprint: str, events: list[dict]) -> None:
        self.db.insert_with_events("org_units", {
            "_id": unit.id, "name": unit.name, "level": unit.level, "parent_id": unit.parent_id,
            "ancestors": list(unit.ancestors), "deleted": False, "history": [],
            "request_hash": fingerprint, "created_at": utc_now(),
        }, events)

    def move_org_unit(self, old: OrgUnit, moved: OrgUnit, moved_on: date, events: list[dict]) -> None:
        """Re-parent the unit (with its events), then re-root its descendants' ancestors."""
        ok = self.db.update_with_events("org_units", {"_id": old.id, "parent_id": old.parent_id}, {
            "$set": {"parent_id": moved.parent_id, "ancestors": list(moved.ancestors)},
            "$push": {"history": {"change": "moved", "from_parent_id": old.parent_id,
                                  "to_parent_id": moved.parent_id, "on": stored_day(moved_on)}},
        }, events)
        if not ok:
            raise StaleWrite(f"org unit {old.id!r} changed meanwhile; try again")
        # Descendants keep their own events-free documents consistent: the
        # ancestors list is derived data (the source of truth is parent_id).
        prefix = len(old.path)
        for doc in self.db["org_units"].find({"ancestors": old.id}, {"ancestors": 1}):
            ancestors = list(moved.path) + doc["ancestors"][prefix:]
            self.db["org_units"].update_one({"_id": doc["_id"]}, {"$set": {"ancestors": ancestors}})

    def rename_org_unit(self, old: OrgUnit, renamed: OrgUnit, renamed_on: date, events: list[dict]) -> None:
        ok = self.db.update_with_events("org_units", {"_id": old.id, "name": old.name}, {
            "$set": {"name": renamed.name},
            "$push": {"history": {"change": "renamed", "from_name": old.name, "to_name": renamed.name,
                                  "on": stored_day(renamed_on)}},
        }, events)
        if not ok:
            raise StaleWrite(f"org unit {old.id!r} changed meanwhile; try again")

    def delete_org_unit(self, unit: OrgUnit, events: list[dict]) -> None:
        self.db.update_with_events("org_units", {"_id": unit.id, "deleted": False},
                                   {"$set": {"deleted": True, "deleted_at": utc_now()}}, events)

    def children(self, unit_id: str) -> list[OrgUnit]:
        docs = self.db["org_units"].find({"parent_id": unit_id, "deleted": False}).sort("_id", 1)
        return [self.org_unit(d) for d in docs]

    def count_children(self, unit_id: str) -> int:
        return self.db["org_units"].count_documents({"parent_id": unit_id, "deleted": False})

    def org_unit_history(self, unit_id: str) -> list[dict]:
        doc = self.org_unit_doc(unit_id) or {}
        return [{**h, "on": as_day(h["on"]).isoformat()} for h in doc.get("history", [])]

    @staticmethod
    def org_unit(doc: dict) -> OrgUnit:
        return OrgUnit(doc["_id"], doc["name"], doc["level"], doc.get("parent_id"),
                       tuple(doc.get("ancestors", ())), bool(doc.get("deleted")))

    # -- Party organisations ------------------------------------------------------------
    def party_org_doc(self, org_id: str) -> dict | None:
        return self.db["party_orgs"].find_one({"_id": org_id})

    def get_party_org(self, org_id: str | None) -> PartyOrg | None:
        doc = self.party_org_doc(org_id) if org_id else None
        return self.party_org(doc) if doc else None

    def add_party_org(self, org: PartyOrg, fingerprint: str, events: list[dict]) -> None:
        self.db.insert_with_events("party_orgs", {
            "_id": org.id, "name": org.name, "kind": org.kind, "parent_id": org.parent_id,
            "org_unit_id": org.org_unit_id, "request_hash": fingerprint, "created_at": utc_now()}, events)

    @staticmethod
    def party_org(doc: dict) -> PartyOrg:
        return PartyOrg(doc["_id"], doc["name"], doc["kind"], doc.get("parent_id"), doc["org_unit_id"])

    # -- members --------------------------------------------------------------------
    def member_doc(self, member_id: str) -> dict | None:
        return self.db["members"].find_one({"_id": member_id})

    def get_member(self, member_id: str) -> Member | None:
        doc = self.member_doc(member_id)
        return self.member(doc) if doc else None

    def member_by_transfer(self, transfer_id: str) -> Member | None:
        doc = self.db["members"].find_one({"transfers.id": transfer_id})
        return self.member(doc) if doc else None

    def count_members(self, unit_id: str) -> int:
        """Members ever placed in the unit (any status): such a unit is never deleted."""
        return self.db["members"].count_documents({"org_unit_id": unit_id})

    def add_member(self, member: Member, fingerprint: str, events: list[dict]) -> None:
        doc = self._member_doc(member)
        doc.update({"_id": member.id, "request_hash": fingerprint, "created_at": utc_now()})
        self.db.insert_with_events("members", doc, events)

    def save_member(self, old: Member, new: Member, events: list[dict], applied_event: str | None = None) -> None:
        """Write a changed member if nobody else did since it was read.

        applied_event: the intake event id this change applies, kept in the
        same write so a redelivery is recognised (the last 100 are kept)."""
        doc = self._member_doc(new)
        doc["version"] = old.version + 1
        update = {"$set": doc}
        if applied_event:
            update["$push"] = {"applied_events": {"$each": [applied_event], "$slice": -100}}
        if not self.db.update_with_events("members", {"_id": old.id, "version": old.version}, update, events):
            raise StaleWrite(f"member {old.id!r} changed meanwhile; try again")

    def applied_events(self, member_id: str) -> list[str]:
        doc = self.db["members"].find_one({"_id": member_id}, {"applied_events": 1}) or {}
        return doc.get("applied_events", [])

    def current_member_ids(self) -> list[str]:
        """Active and flowing members (the daily job's birthday candidates)."""
        return [d["_id"] for d in self.db["members"].find({"status": {"$in": ["active", "flowing"]}}, {"_id": 1})]

    def members_with_open_transfers(self) -> list[str]:
        return [d["_id"] for d in self.db["members"].find({"transfers.state": "issued"}, {"_id": 1})]

    def count_party_orgs(self, unit_id: str) -> int:
        return self.db["party_orgs"].count_documents({"org_unit_id": unit_id})

    def _member_doc(self, m: Member) -> dict:
        return {
            "name": m.name, "gender": m.gender, "birth_date": stored_day(m.birth_date),
            "org_unit_id": m.org_unit_id, "branch_id": m.branch_id, "stage": m.stage,
            "stage_since": stored_day(m.stage_since), "admitted_on": stored_day(m.admitted_on),
            "status": m.status, "status_since": stored_day(m.status_since),
            "probation_ends_on": stored_day(m.probation_ends_on), "probation_extended": m.probation_extended,
            "id_number": self.vault.seal(m.id_number), "id_number_hash": self.vault.lookup_hash(m.id_number),
            "phone": self.vault.seal(m.phone),
            "stage_history": [{"stage": s, "since": stored_day(d)} for s, d in m.stage_history],
            "status_history": [{"status": s, "since": stored_day(d), "reason": r} for s, d, r in m.status_history],
            "transfers": [{"id": t.id, "from_org_unit_id": t.from_org_unit_id, "to_org_unit_id": t.to_org_unit_id,
                           "from_branch_id": t.from_branch_id, "to_branch_id": t.to_branch_id,
                           "issued_on": stored_day(t.issued_on), "valid_until": stored_day(t.valid_until),
                           "state": t.state, "closed_on": stored_day(t.closed_on)} for t in m.transfers],
            "birthday_notified_year": m.birthday_notified_year,
            "version": m.version,
        }

    def member(self, doc: dict) -> Member:
        return Member(
            id=doc["_id"], name=doc["name"], gender=doc["gender"], birth_date=as_day(doc["birth_date"]),
            org_unit_id=doc["org_unit_id"], branch_id=doc.get("branch_id"), stage=doc["stage"],
            stage_since=as_day(doc["stage_since"]), admitted_on=as_day(doc.get("admitted_on")),
            status=doc.get("status", "active"), status_since=as_day(doc.get("status_since")),
            probation_ends_on=as_day(doc.get("probation_ends_on")),
            probation_extended=bool(doc.get("probation_extended")),
            id_number=self.vault.open(doc.get("id_number")), phone=self.vault.open(doc.get("phone")),
            stage_history=tuple((h["stage"], as_day(h["since"])) for h in doc.get("stage_history", ())),
            status_history=tuple((h["status"], as_day(h["since"]), h.get("reason"))
                                 for h in doc.get("status_history", ())),
            transfers=tuple(Transfer(t["id"], t["from_org_unit_id"], t["to_org_unit_id"], t.get("from_branch_id"),
                                     t.get("to_branch_id"), as_day(t["issued_on"]), as_day(t["valid_until"]),
                                     t.get("state", "issued"), as_day(t.get("closed_on")))
                            for t in doc.get("transfers", ())),
            birthday_notified_year=doc.get("birthday_notified_year"),
            version=doc.get("version", 0),
        )

    # -- households ------------------------------------------------------------------
    def get_household(self, household_id: str) -> Household | None:
        doc = self.db["households"].find_one({"_id": household_id})
        return self.household(doc) if doc else None

    def household_by_link(self, link_id: str) -> Household | None:
        doc = self._household_doc_of_link(link_id)
        return self.household(doc) if doc else None

    def households_of_member(self, member_id: str) -> list[Household]:
        return [self.household(d) for d in self.db["households"].find({"current_member_id": member_id})]

    def households_with_links(self):
        for doc in self.db["households"].find({"current_member_id": {"$ne": None}}):
            yield self.household(doc)

    def households_in(self, unit_ids: list[str]) -> list[Household]:
        docs = self.db["households"].find({"org_unit_id": {"$in": unit_ids}}).sort("_id", 1)
        return [self.household(d) for d in docs]

    def members_in(self, unit_ids: list[str]) -> list[Member]:
        docs = self.db["members"].find({"org_unit_id": {"$in": unit_ids}}).sort("_id", 1)
        return [self.member(d) for d in docs]

    def subtree_ids(self, unit_id: str) -> list[str]:
        return [unit_id] + [d["_id"] for d in self.db["org_units"].find({"ancestors": unit_id, "deleted": False}, {"_id": 1})]

    def save_household(self, old: Household | None, new: Household, events: list[dict],
                       new_link: tuple[str, str] | None = None) -> None:
        """Insert a new household or update one nobody changed since it was read.

        new_link: (link id, request fingerprint) of a link this write creates,
        kept so that posting the same link again is answered idempotently."""
        doc = {
            "org_unit_id": new.org_unit_id, "address": new.address,
            "current_member_id": new.current.member_id if new.current else None,
            "links": [{"id": l.id, "member_id": l.member_id, "linked_on": stored_day(l.linked_on),
                       "unlinked_on": stored_day(l.unlinked_on), "reason": l.reason} for l in new.links],
        }
        request = [{"id": new_link[0], "hash": new_link[1]}] if new_link else []
        if new_link:    # (re)pointed here: reached only when no household holds the link yet
            self.db["link_ids"].update_one({"_id": new_link[0]}, {"$set": {"household_id": new.id}}, upsert=True)
        if old is None:
            self.db.insert_with_events("households", {"_id": new.id, "version": 1, "link_requests": request,
                                                      **doc}, events)
            return
        update = {"$set": {**doc, "version": old.version + 1}}
        if request:
            update["$push"] = {"link_requests": {"$each": request}}
        if not self.db.update_with_events("households", {"_id": old.id, "version": old.version}, update, events):
            raise StaleWrite(f"household {old.id!r} changed meanwhile; try again")

    def link_doc(self, link_id: str) -> dict | None:
        """The link's creation record: {_id, request_hash, household_id} (for idempotent retries)."""
        doc = self._household_doc_of_link(link_id, {"link_requests": 1})
        if doc is None:
            return None
        fingerprint = next((r["hash"] for r in doc.get("link_requests", []) if r["id"] == link_id), None)
        return {"_id": link_id, "request_hash": fingerprint, "household_id": doc["_id"]}

    @staticmethod
    def household(doc: dict) -> Household:
        return Household(doc["_id"], doc["org_unit_id"], doc.get("address"),
                         tuple(Link(l["id"], l["member_id"], as_day(l["linked_on"]), as_day(l.get("unlinked_on")),
                                    l.get("reason")) for l in doc.get("links", ())),
                         doc.get("version", 0))
