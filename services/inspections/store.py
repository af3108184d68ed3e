"""Inspections' collections, behind domain-language methods (no nameko).

checklists         _id = checklist id; every version's items inside
rounds             _id = round id; its assessments and findings inside (one
                   document: one assessment per unit, atomic finding changes);
                   `finding_ids` indexes the findings
membership_events  membership's events (the tree, for scopes), like activities: kept with
                   received_at, rebuilt at start and followed (lianxin.follow)
activity_events    activities' activity_held and obligation_missed: the
                   evidence an inspector sees pre-filled
"""
from __future__ import annotations

import logging
from datetime import date

import pymongo

from lianxin import follow
from lianxin.errors import StaleWrite
from lianxin.membership_view import MembershipView
from lianxin.store import ServiceDb, as_day, insert_many_new, stored_day, utc_now

from .domain import Checklist, Finding, Round

log = logging.getLogger("lianxin.inspections")
EVIDENCE_TYPES = ("activity_held", "obligation_missed")





class InspectionsStore:
    OUTBOX_COLLECTIONS = ("checklists", "rounds")
    INDEXES = {
        "rounds": [([("finding_ids", pymongo.ASCENDING)], {"name": "by_finding"}),
                   ([("assessment_ids", pymongo.ASCENDING)], {"name": "by_assessment"}),
                   ([("unit_ids", pymongo.ASCENDING)], {"name": "by_unit"})],
        "activity_events": [([("org_unit_id", pymongo.ASCENDING), ("event_type", pymongo.ASCENDING)],
                             {"name": "by_unit"})],
        "membership_events": [([("received_at", pymongo.ASCENDING), ("_id", pymongo.ASCENDING)],
                               {"name": "by_received_at"})],
    }
    FOLLOW_INTERVAL = follow.FOLLOW_INTERVAL

    def __init__(self, db: ServiceDb):
        self.db = db
        self.view = MembershipView()
        self.follower = follow.Follower(self.db["membership_events"], self._follow_membership,
                                        name="inspections: membership_events")
        self.rebuild_view()

    # -- events in: the tree and the evidence ------------------------------------------
    def apply_events(self, events) -> set[str]:
        """Keep membership's and activities' events once each; returns the new ids."""
        membership = [e for e in events if e.event_type in MembershipView.EVENT_TYPES]
        evidence = [e for e in events if e.event_type in EVIDENCE_TYPES]
        received_at = utc_now()
        with self.follower.lock:
            fresh = {d["_id"] for d in insert_many_new(self.db["membership_events"], [
                {"_id": e.event_id, "event_type": e.event_type, "envelope": e.envelope, "received_at": received_at}
                for e in membership])}
            self.view.apply([e for e in membership if e.event_id in fresh])
            self.follower.applied_here(fresh)
        fresh |= {d["_id"] for d in insert_many_new(self.db["activity_events"], [
            {"_id": e.event_id, "event_type": e.event_type, "org_unit_id": e.data["org_unit_id"],
             "kind": e.data["kind"], "day": stored_day(e.data.get("held_on") or e.data.get("period_end")),
             "period": e.data.get("period")} for e in evidence])}
        return fresh

    def _follow_membership(self, docs: list[dict]) -> None:
        """Membership's events another instance stored (lianxin.follow). The
        evidence (activity_events) is read from the store, not kept in memory."""
        self.view.apply(follow.events_of(docs))

    def follow_once(self) -> int:
        return self.follower.poll()

    def rebuild_view(self) -> None:
        started_at = utc_now()
        view = MembershipView()
        events, stamped = follow.replay(self.db["membership_events"])
        view.apply(events)
        with self.follower.lock:
            self.view = view
            self.follower.start(started_at, stamped)

    def evidence(self, unit_id: str, start: date, end: date) -> dict:
        """What activities recorded for the unit in [start, end]: held by kind, and missed obligations."""
        held: dict[str, int] = {}
        missed = []
        for doc in self.db["activity_events"].find({"org_unit_id": unit_id,
                                                    "day": {"$gte": stored_day(start), "$lte": stored_day(end)}}):
            if doc["event_type"] == "activity_held":
                held[doc["kind"]] = held.get(doc["kind"], 0) + 1
            else:
                missed.append({"kind": doc["kind"], "period": doc["period"]})
        return {"held_by_kind": dict(sorted(held.items())),
                "missed_obligations": sorted(missed, key=lambda m: (m["period"], m["kind"]))}

    # -- checklists ---------------------------------------------------------------------
    def checklist_doc(self, checklist_id: str) -> dict | None:
        return self.db["checklists"].find_one({"_id": checklist_id})

    def get_checklist(self, checklist_id: str) -> Checklist | None:
        doc = self.checklist_doc(checklist_id)
        return self.checklist(doc) if doc else None

    def save_checklist(self, old: Checklist | None, new: Checklist, events: list[dict],
                       fingerprint: str | None = None) -> None:
        fields = {"name": new.name, "versions": {str(v): list(items) for v, items in new.versions.items()}}
        if old is None:
            self.db.insert_with_events("checklists", {"_id": new.id, "version": 1, "request_hash": fingerprint,
                                                      "created_at": utc_now(), **fields}, events)
        elif not self.db.update_with_events("checklists", {"_id": old.id, "version": old.version},
                                            {"$set": {**fields, "version": old.version + 1}}, events):
            raise StaleWrite(f"checklist {old.id!r} changed meanwhile; try again")

    @staticmethod
    def checklist(doc: dict) -> Checklist:
        return Checklist(doc["_id"], doc["name"], {int(v): tuple(items) for v, items in doc["versions"].items()},
                         doc.get("version", 0))

    # -- rounds ---------------------------------------------------------------------------
    def round_doc(self, round_id: str) -> dict | None:
        return self.db["rounds"].find_one({"_id": round_id})

    def get_round(self, round_id: str) -> Round | None:
        doc = self.round_doc(round_id)
        return self.round(doc) if doc else None

    def round_of_finding(self, finding_id: str) -> Round | None:
        doc = self.db["rounds"].find_one({"finding_ids": finding_id})
        return self.round(doc) if doc else None

    def rounds_with_findings(self):
        for doc in self.db["rounds"].find({"finding_ids.0": {"$exists": True}}):
            yield self.round(doc)

    def save_round(self, old: Round | None, new: Round, events: list[dict], fingerprint: str | None = None,
                   applied_event: str | None = None) -> None:
        doc = self._round_doc(new)
        if old is None:
            self.db.insert_with_events("rounds", {"_id": new.id, "version": 1, "request_hash": fingerprint,
                                                  "created_at": utc_now(), **doc}, events)
            return
        update = {"$set": {**doc, "version": old.version + 1}}
        if applied_event:
            update["$push"] = {"applied_events": {"$each": [applied_event], "$slice": -200}}
        if not self.db.update_with_events("rounds", {"_id": old.id, "version": old.version}, update, events):
            raise StaleWrite(f"round {old.id!r} changed meanwhile; try again")

    def applied_events(self, round_id: str) -> list[str]:
        doc = self.db["rounds"].find_one({"_id": round_id}, {"applied_events": 1}) or {}
        return doc.get("applied_events", [])

    def assessment_request(self, assessment_id: str) -> dict | None:
        """The stored assessment with that id, in whichever round:
        {"_id", "request_hash", "round_id", "org_unit_id"}."""
        doc = self.db["rounds"].find_one({"assessment_ids": assessment_id}, {"assessments": 1})
        for a in (doc or {}).get("assessments", []):
            if a["id"] == assessment_id:
                return {"_id": assessment_id, "request_hash": a.get("request_hash"), "round_id": doc["_id"],
                        "org_unit_id": a["org_unit_id"]}
        return None

    @staticmethod
    def _round_doc(r: Round) -> dict:
        return {
            "name": r.name, "scope_org_unit_ids": list(r.scope_org_unit_ids), "unit_ids": list(r.unit_ids),
            "checklist_id": r.checklist_id, "checklist_version": r.checklist_version, "items": list(r.items),
            "starts_on": stored_day(r.starts_on), "ends_on": stored_day(r.ends_on), "inspectors": list(r.inspectors),
            "follows_round_id": r.follows_round_id, "closed_on": stored_day(r.closed_on),
            # Lists, not maps keyed by ids or item names: keys with dots or a
            # leading $ are not safe field names in MongoDB.
            "assessments": [{**a, "org_unit_id": u, "inspected_on": stored_day(a["inspected_on"]),
                             "scores": [{"item": k, "score": v} for k, v in a["scores"].items()]}
                            for u, a in r.assessments.items()],
            "findings": [_finding_doc(f) for f in r.findings.values()],
            "finding_ids": list(r.findings),
            "assessment_ids": [a["id"] for a in r.assessments.values()],
        }

    @staticmethod
    def round(doc: dict) -> Round:
        return Round(
            doc["_id"], doc["name"], tuple(doc["scope_org_unit_ids"]), tuple(doc["unit_ids"]), doc["checklist_id"],
            doc["checklist_version"], tuple(doc["items"]), as_day(doc["starts_on"]), as_day(doc["ends_on"]),
            tuple(doc.get("inspectors", ())), doc.get("follows_round_id"), as_day(doc.get("closed_on")),
            {a["org_unit_id"]: {**{k: v for k, v in a.items() if k != "org_unit_id"},
                                "inspected_on": as_day(a["inspected_on"]),
                                "scores": {s["item"]: s["score"] for s in a["scores"]}}
             for a in doc.get("assessments", [])},
            {f["id"]: _finding(f) for f in doc.get("findings", [])},
            doc.get("version", 0),
        )


def _finding_doc(f: Finding) -> dict:
    return {"id": f.id, "org_unit_id": f.org_unit_id, "item": f.item, "severity": f.severity,
            "description": f.description, "found_on": stored_day(f.found_on), "status": f.status, "owner": f.owner,
            "due_on": stored_day(f.due_on), "plan": f.plan, "started_on": stored_day(f.started_on),
            "submitted_on": stored_day(f.submitted_on), "evidence": f.evidence, "verified_on": stored_day(f.verified_on),
            "history": [{"status": s, "on": stored_day(d), "note": n} for s, d, n in f.history],
            "warned": list(f.warned)}


def _finding(d: dict) -> Finding:
    return Finding(d["id"], d["org_unit_id"], d["item"], d["severity"], d["description"], as_day(d["found_on"]),
                   d.get("status", "draft"), d.get("owner"), as_day(d.get("due_on")), d.get("plan"),
                   as_day(d.get("started_on")), as_day(d.get("submitted_on")), d.get("evidence"),
                   as_day(d.get("verified_on")), tuple((h["status"], as_day(h["on"]), h.get("note"))
                                                     for h in d.get("history", ())), tuple(d.get("warned", ())))
