"""Honours' collections, behind domain-language methods (no nameko).

categories  _id = category id
rolls       _id = "<category>:<year>": that year's nominations and awards (one
            document: the quota is a single-document rule); `nomination_ids`
            indexes them; `requests` keeps each nomination's body fingerprint
inputs      other services' events this service decides eligibility from
            (membership, appraisals, rectifications), kept once each (with
            received_at) and folded into in-memory read models rebuilt at
            start and followed (lianxin.follow) for what other instances stored
"""
from __future__ import annotations

import logging

import pymongo

from lianxin import follow
from lianxin.errors import StaleWrite
from lianxin.fields import parse_aware_datetime
from lianxin.membership_view import MembershipView
from lianxin.store import ServiceDb, as_day, insert_many_new, stored_day, utc_now

from .domain import EVENT_TYPES, Category, Eligibility, Nomination, Roll

log = logging.getLogger("lianxin.honours")




class HonoursStore:
    OUTBOX_COLLECTIONS = ("categories", "rolls")
    INDEXES = {"rolls": [([("nomination_ids", pymongo.ASCENDING)], {"name": "by_nomination"}),
                         ([("year", pymongo.ASCENDING)], {"name": "by_year"})],
               "inputs": [([("received_at", pymongo.ASCENDING), ("_id", pymongo.ASCENDING)],
                           {"name": "by_received_at"})]}
    FOLLOW_INTERVAL = follow.FOLLOW_INTERVAL

    def __init__(self, db: ServiceDb):
        self.db = db
        self.view = MembershipView()
        self.eligibility = Eligibility()
        self.follower = follow.Follower(self.db["inputs"], lambda docs: self._fold(follow.events_of(docs)),
                                        name="honours: inputs")
        self.rebuild()

    # -- events in -------------------------------------------------------------------
    def apply_events(self, events) -> set[str]:
        received_at = utc_now()
        with self.follower.lock:
            fresh = {d["_id"] for d in insert_many_new(self.db["inputs"], [
                {"_id": e.event_id, "event_type": e.event_type, "envelope": e.envelope, "received_at": received_at}
                for e in events])}
            self._fold([e for e in events if e.event_id in fresh])
            self.follower.applied_here(fresh)
        return fresh

    def follow_once(self) -> int:
        """Apply what other instances stored (lianxin.follow)."""
        return self.follower.poll()

    def _fold(self, events) -> None:
        self.view.apply([e for e in events if e.event_type in MembershipView.EVENT_TYPES])
        for e in events:
            if e.event_type in EVENT_TYPES:
                self.eligibility.apply(e.event_type, e.data, parse_aware_datetime(e.envelope["occurred_at"]),
                                       e.event_id)

    def rebuild(self) -> None:
        started_at = utc_now()
        events, stamped = follow.replay(self.db["inputs"])
        with self.follower.lock:
            self.view, self.eligibility = MembershipView(), Eligibility()
            self._fold(events)
            self.follower.start(started_at, stamped)

    # -- categories --------------------------------------------------------------------
    def category_doc(self, category_id: str) -> dict | None:
        return self.db["categories"].find_one({"_id": category_id})

    def get_category(self, category_id: str) -> Category | None:
        doc = self.category_doc(category_id)
        return self.category(doc) if doc else None

    def add_category(self, category: Category, fingerprint: str | None, events: list[dict]) -> None:
        self.db.insert_with_events("categories", {
            "_id": category.id, "name": category.name, "nominee_kind": category.nominee_kind,
            "awarding_body": category.awarding_body, "yearly_quota": category.yearly_quota,
            "notice_days": category.notice_days, "exclude_overdue_rectification": category.exclude_overdue_rectification,
            "external": category.external, "request_hash": fingerprint}, events)

    @staticmethod
    def category(doc: dict) -> Category:
        return Category(doc["_id"], doc["name"], doc["nominee_kind"], doc["awarding_body"], doc.get("yearly_quota"),
                        doc.get("notice_days", 5), bool(doc.get("exclude_overdue_rectification")),
                        bool(doc.get("external")))

    # -- rolls ---------------------------------------------------------------------------
    def get_roll(self, category_id: str, year: int) -> Roll | None:
        doc = self.db["rolls"].find_one({"_id": f"{category_id}:{year}"})
        return self.roll(doc) if doc else None

    def roll_of(self, nomination_id: str) -> Roll | None:
        doc = self.db["rolls"].find_one({"nomination_ids": nomination_id})
        return self.roll(doc) if doc else None

    def nomination_request(self, nomination_id: str) -> dict | None:
        doc = self.db["rolls"].find_one({"nomination_ids": nomination_id}, {"requests": 1})
        if doc is None:
            return None
        fingerprint = next((r["hash"] for r in doc.get("requests", []) if r["id"] == nomination_id), None)
        return {"_id": nomination_id, "request_hash": fingerprint, "roll_id": doc["_id"]}

    def rolls(self, year: int | None = None):
        for doc in self.db["rolls"].find({} if year is None else {"year": year}):
            yield self.roll(doc)

    def save_roll(self, old: Roll | None, new: Roll, events: list[dict], request: tuple | None = None) -> None:
        fields = {"category_id": new.category_id, "year": new.year,
                  "nominations": [_nomination_doc(n) for n in new.nominations.values()],
                  "nomination_ids": list(new.nominations)}
        requests = [{"id": request[0], "hash": request[1]}] if request else []
        if old is None:
            try:
                self.db.insert_with_events("rolls", {"_id": new.id, "version": 1, "requests": requests, **fields},
                                           events)
            except pymongo.errors.DuplicateKeyError:
                raise StaleWrite("the roll changed meanwhile; try again")
            return
        update = {"$set": {**fields, "version": old.version + 1}}
        if requests:
            update["$push"] = {"requests": {"$each": requests}}
        if not self.db.update_with_events("rolls", {"_id": old.id, "version": old.version}, update, events):
            raise StaleWrite("the roll changed meanwhile; try again")

    @staticmethod
    def roll(doc: dict) -> Roll:
        return Roll(doc["category_id"], doc["year"], {n["id"]: _nomination(n) for n in doc.get("nominations", [])},
                    doc.get("version", 0))


def _nomination_doc(n: Nomination) -> dict:
    return {"id": n.id, "category_id": n.category_id, "nominee_id": n.nominee_id, "nominee_kind": n.nominee_kind,
            "org_unit_id": n.org_unit_id, "year": n.year, "reason": n.reason, "status": n.status,
            "notice_ends_on": stored_day(n.notice_ends_on), "awarded_on": stored_day(n.awarded_on),
            "objections": [{**o, "raised_on": stored_day(o["raised_on"])} for o in n.objections],
            "history": [{"status": s, "on": stored_day(d), "note": note} for s, d, note in n.history]}


def _nomination(d: dict) -> Nomination:
    return Nomination(d["id"], d["category_id"], d["nominee_id"], d["nominee_kind"], d["org_unit_id"], d["year"],
                      d.get("reason"), d.get("status", "nominated"), as_day(d.get("notice_ends_on")),
                      as_day(d.get("awarded_on")),
                      tuple({**o, "raised_on": as_day(o["raised_on"])} for o in d.get("objections", ())),
                      tuple((h["status"], as_day(h["on"]), h.get("note")) for h in d.get("history", ())))
