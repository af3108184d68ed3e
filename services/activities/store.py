"""Activities' collections, behind domain-language methods (no nameko).

activities          _id = activity id
deeds               _id = deed id
deed_weeks          _id = "<member>|<ISO week>": the ids of a member's deeds of that week, so
                    points caps and weekly counts read deeds by _id (an index on MongoDB, and
                    the only fast lookup of the embedded store); the deeds stay the truth.
                    `rev` guards the weekly points cap across writers (instances): deeds
                    are noted in their week by a conditional update on the rev they read
                    (a lost race: StaleWrite, read again), with their points `reserved`
                    until the deeds themselves are written
cases               _id = case id; intake event ids applied kept inside
appraisal_sheets    _id = "<unit>:<year>": one unit's grades of one year
obligation_rules    _id = "<unit or *>:<kind>"
obligations_missed  _id = "<unit>:<kind>:<period>": each missed obligation announced once
membership_events   membership's events as received (_id = event id, received_at = when
                    stored): the source of the in-memory MembershipView, rebuilt at start
                    and followed (lianxin.follow) for what other instances stored
Each document carries its own outbox (lianxin.store.ServiceDb).
"""
from __future__ import annotations

import logging
import time
from datetime import date

import pymongo

from lianxin import follow
from lianxin.errors import StaleWrite
from lianxin.membership_view import MembershipView
from lianxin.store import ServiceDb, as_day, insert_many_new, is_embedded_client, stored_day, utc_now

from .domain import Activity, AppraisalSheet, Case, Deed, iso_week

log = logging.getLogger("lianxin.activities")
# A deed noted in its week but not written (yet) counts towards the weekly cap
# this long: its writer is between the two writes (milliseconds), or crashed
# there (a redelivery notes it again; an HTTP client gave up: it is skipped).
RESERVATION_SECONDS = 600





class ActivitiesStore:
    OUTBOX_COLLECTIONS = ("activities", "deeds", "cases", "appraisal_sheets", "obligation_rules",
                          "obligations_missed")
    INDEXES = {
        "activities": [([("org_unit_id", pymongo.ASCENDING), ("status", pymongo.ASCENDING)], {"name": "by_unit"}),
                       ([("series", pymongo.ASCENDING)], {"name": "by_series", "sparse": True})],
        "deeds": [([("member_id", pymongo.ASCENDING), ("week", pymongo.ASCENDING)], {"name": "by_member_week"}),
                  ([("org_unit_id", pymongo.ASCENDING), ("done_on", pymongo.ASCENDING)], {"name": "by_unit_day"})],
        "cases": [([("org_unit_id", pymongo.ASCENDING), ("status", pymongo.ASCENDING)], {"name": "by_unit"})],
        "membership_events": [([("received_at", pymongo.ASCENDING), ("_id", pymongo.ASCENDING)],
                               {"name": "by_received_at"})],
    }
    FOLLOW_INTERVAL = follow.FOLLOW_INTERVAL

    def __init__(self, db: ServiceDb, points_rules: dict | None = None, obligations_from: date = date(2018, 1, 1)):
        self.db = db
        self.points_rules = points_rules or {}
        self.obligations_from = obligations_from
        self.view = MembershipView()
        self.follower = follow.Follower(self.db["membership_events"], self._follow_membership,
                                        name="activities: membership_events")
        self.rebuild_view()
        self._index_deed_weeks()

    @classmethod
    def from_config(cls, db: ServiceDb, config: dict) -> "ActivitiesStore":
        since = config.get("OBLIGATIONS_FROM") or "2018-01-01"
        return cls(db, config.get("DEED_POINTS") or {}, date.fromisoformat(str(since)))

    # -- the membership read model --------------------------------------------------
    def apply_membership_events(self, events) -> set[str]:
        """Keep membership's events (once each) and fold them into the view.
        Returns the ids that were new."""
        received_at = utc_now()
        docs = [{"_id": e.event_id, "event_type": e.event_type, "envelope": e.envelope, "received_at": received_at}
                for e in events]
        with self.follower.lock:
            fresh = {d["_id"] for d in insert_many_new(self.db["membership_events"], docs)}
            self.view.apply([e for e in events if e.event_id in fresh])
            self.follower.applied_here(fresh)
        return fresh

    def _follow_membership(self, docs: list[dict]) -> None:
        """Membership's events another instance stored (lianxin.follow)."""
        self.view.apply(follow.events_of(docs))

    def follow_once(self) -> int:
        return self.follower.poll()

    def rebuild_view(self) -> None:
        started, started_at = time.perf_counter(), utc_now()
        view = MembershipView()
        batch, stamped = follow.replay(self.db["membership_events"])
        view.apply(batch)
        with self.follower.lock:
            self.view = view
            self.follower.start(started_at, stamped)
        log.info("membership view rebuilt from %d events in %.2fs", len(batch), time.perf_counter() - started)

    # -- activities ---------------------------------------------------------------------
    def activity_doc(self, activity_id: str) -> dict | None:
        return self.db["activities"].find_one({"_id": activity_id})

    def get_activity(self, activity_id: str) -> Activity | None:
        doc = self.activity_doc(activity_id)
        return self.activity(doc) if doc else None

    def next_session_no(self, series: str) -> int:
        sessions = [d.get("session_no") or 0 for d in self.db["activities"].find({"series": series}, {"session_no": 1})]
        return max(sessions, default=0) + 1

    def add_activity(self, activity: Activity, fingerprint: str, events: list[dict]) -> None:
        doc = self._activity_doc(activity)
        doc.update({"_id": activity.id, "request_hash": fingerprint, "created_at": utc_now()})
        self.db.insert_with_events("activities", doc, events)

    def save_activity(self, old: Activity, new: Activity, events: list[dict]) -> None:
        doc = self._activity_doc(new)
        doc["version"] = old.version + 1
        if not self.db.update_with_events("activities", {"_id": old.id, "version": old.version},
                                          {"$set": doc}, events):
            raise StaleWrite(f"activity {old.id!r} changed meanwhile; try again")

    def held_dates(self, unit_id: str) -> dict[str, list[date]]:
        out: dict[str, list[date]] = {}
        for doc in self.db["activities"].find({"org_unit_id": unit_id, "status": "held"}, {"kind": 1, "held_on": 1}):
            out.setdefault(doc["kind"], []).append(as_day(doc["held_on"]))
        return out

    @staticmethod
    def _activity_doc(a: Activity) -> dict:
        return {"kind": a.kind, "title": a.title, "org_unit_id": a.org_unit_id,
                "scheduled_for": stored_day(a.scheduled_for), "series": a.series, "session_no": a.session_no,
                "status": a.status, "held_on": stored_day(a.held_on), "attendee_ids": list(a.attendee_ids),
                "absentees": list(a.absentees), "speakers": list(a.speakers), "minutes": a.minutes,
                "expected": a.expected, "cancelled_on": stored_day(a.cancelled_on), "cancel_reason": a.cancel_reason,
                "version": a.version}

    @staticmethod
    def activity(doc: dict) -> Activity:
        return Activity(doc["_id"], doc["kind"], doc["title"], doc["org_unit_id"], as_day(doc["scheduled_for"]),
                        doc.get("series"), doc.get("session_no"), doc.get("status", "scheduled"),
                        as_day(doc.get("held_on")), tuple(doc.get("attendee_ids", ())),
                        tuple(doc.get("absentees", ())), tuple(doc.get("speakers", ())), doc.get("minutes"),
                        doc.get("expected"), as_day(doc.get("cancelled_on")), doc.get("cancel_reason"),
                        doc.get("version", 0))

    # -- obligations -------------------------------------------------------------------------
    def obligation_rules(self) -> dict:
        return {(d.get("org_unit_id"), d["kind"]): d.get("frequency") for d in self.db["obligation_rules"].find()}

    def set_obligation_rule(self, command: dict, events: list[dict]) -> None:
        rule_id = f"{command.get('org_unit_id') or '*'}:{command['kind']}"
        fields = {"org_unit_id": command.get("org_unit_id"), "kind": command["kind"],
                  "frequency": command["frequency"], "updated_at": utc_now()}
        if not self.db.update_with_events("obligation_rules", {"_id": rule_id}, {"$set": fields}, events):
            try:
                self.db.insert_with_events("obligation_rules", {"_id": rule_id, **fields}, events)
            except pymongo.errors.DuplicateKeyError:
                raise StaleWrite("the rule changed meanwhile; try again")

    def record_missed(self, events_by_key: list[tuple[str, dict]]) -> int:
        """Insert each (key, envelope) once; returns how many were new."""
        return len(self.db.insert_many_with_events(
            "obligations_missed", [({"_id": key, "recorded_at": utc_now()}, [env]) for key, env in events_by_key]))

    def missed_keys(self) -> set[str]:
        return {d["_id"] for d in self.db["obligations_missed"].find({}, {"_id": 1})}

    # -- appraisals ---------------------------------------------------------------------------
    def get_sheet(self, unit_id: str, year: int) -> AppraisalSheet | None:
        doc = self.db["appraisal_sheets"].find_one({"_id": f"{unit_id}:{year}"})
        return AppraisalSheet(doc["org_unit_id"], doc["year"], dict(doc.get("grades", {})), doc.get("version", 0)) \
            if doc else None

    def save_sheet(self, old: AppraisalSheet | None, new: AppraisalSheet, events: list[dict]) -> None:
        fields = {"org_unit_id": new.org_unit_id, "year": new.year, "grades": new.grades}
        if old is None:
            try:
                self.db.insert_with_events("appraisal_sheets", {"_id": new.id, "version": 1, **fields}, events)
            except pymongo.errors.DuplicateKeyError:
                raise StaleWrite("the appraisal sheet changed meanwhile; try again")
        elif not self.db.update_with_events("appraisal_sheets", {"_id": old.id, "version": old.version},
                                            {"$set": {**fields, "version": old.version + 1}}, events):
            raise StaleWrite("the appraisal sheet changed meanwhile; try again")

    # -- deeds ------------------------------------------------------------------------------------
    def deed_doc(self, deed_id: str) -> dict | None:
        return self.db["deeds"].find_one({"_id": deed_id})

    def get_deed(self, deed_id: str) -> Deed | None:
        doc = self.deed_doc(deed_id)
        return self.deed(doc) if doc else None

    @staticmethod
    def _week_key(member_id: str, day: date) -> str:
        return f"{member_id}|{iso_week(day)}"

    def _index_deed_weeks(self) -> None:
        """Build deed_weeks for deeds stored before it existed (once)."""
        if self.db["deed_weeks"].find_one({}) is not None or self.db["deeds"].find_one({}) is None:
            return
        weeks: dict[str, list] = {}
        for doc in self.db["deeds"].find({}, {"member_id": 1, "week": 1}):
            weeks.setdefault(f"{doc['member_id']}|{doc['week']}", []).append(doc["_id"])
        insert_many_new(self.db["deed_weeks"], [{"_id": k, "deed_ids": v} for k, v in weeks.items()])
        log.info("indexed %d member-weeks of deeds", len(weeks))

    def _reserve_in_week(self, key: str, rev: int | None, deeds: list[Deed]) -> bool:
        """Note the deeds (ids, and their points as reserved) in their member-week,
        BEFORE they are written, if the week is still at `rev` (None: it did not
        exist); False if another writer changed it meanwhile. An id noted for a
        deed that never got written counts its reserved points for
        RESERVATION_SECONDS, then is skipped on reading (the deeds are the
        truth); a deed never misses its week."""
        ids = [d.id for d in deeds]
        at = time.time()
        reserved = [{"id": d.id, "category": d.category, "points": d.points, "at": at} for d in deeds]
        weeks = self.db["deed_weeks"]
        if is_embedded_client(self.db.db.client):
            # mongomock's update machinery costs ~250 µs; the same conditional
            # change, made in place under the collection's write lock.
            store = weeks._store
            with store._rwlock.writer():
                doc = store._documents.get(key)
                if (None if doc is None else doc.get("rev", 0)) != rev:
                    return False
                if doc is None:
                    store._documents[key] = {"_id": key, "rev": 1, "deed_ids": ids, "reserved": reserved}
                    return True
                doc["rev"] = rev + 1
                noted = doc.setdefault("deed_ids", [])
                noted.extend(i for i in ids if i not in noted)
                doc.setdefault("reserved", []).extend(reserved)
            return True
        if rev is None:
            try:
                weeks.insert_one({"_id": key, "rev": 1, "deed_ids": ids, "reserved": reserved})
                return True
            except pymongo.errors.DuplicateKeyError:
                return False
        # Weeks noted before `rev` existed have none: they are at rev 0.
        current = {"rev": rev} if rev else {"rev": {"$exists": False}}
        done = weeks.update_one({"_id": key, **current},
                                {"$set": {"rev": rev + 1}, "$addToSet": {"deed_ids": {"$each": ids}},
                                 "$push": {"reserved": {"$each": reserved}}})
        return done.matched_count == 1

    def _week_deeds(self, keys: list[str]) -> list[dict]:
        ids = [i for doc in self.db["deed_weeks"].find({"_id": {"$in": keys}}) for i in doc["deed_ids"]]
        return list(self.db["deeds"].find({"_id": {"$in": ids}})) if ids else []

    def _weeks(self, keys: list[str]) -> tuple[dict[str, list[dict]], dict[str, int | None]]:
        """The deeds of these member-weeks as the points cap counts them (the
        stored ones, and those reserved a moment ago and not written yet),
        by week, and each week's rev (None: no such week yet). Two reads."""
        week_docs = {d["_id"]: d for d in self.db["deed_weeks"].find({"_id": {"$in": keys}})}
        ids = [i for doc in week_docs.values() for i in doc["deed_ids"]]
        deeds = {d["_id"]: d for d in self.db["deeds"].find({"_id": {"$in": ids}})} if ids else {}
        now = time.time()
        by_key: dict[str, list[dict]] = {}
        for key, doc in week_docs.items():
            reserved = {r["id"]: r for r in doc.get("reserved", ())}    # the latest reservation of each id
            counted = by_key.setdefault(key, [])
            for deed_id in dict.fromkeys(doc["deed_ids"]):
                stored = deeds.get(deed_id)
                if stored is not None:
                    counted.append(stored)
                elif deed_id in reserved and now - reserved[deed_id]["at"] < RESERVATION_SECONDS:
                    r = reserved[deed_id]
                    counted.append({"_id": deed_id, "category": r["category"], "points": r["points"],
                                    "status": "recorded"})
        return by_key, {key: (week_docs[key].get("rev", 0) if key in week_docs else None) for key in keys}

    def points_this_week(self, member_id: str, category: str, day: date, excluding: str | None = None) -> int:
        return self.points_by_week([(member_id, day)]).earned(member_id, category, day, excluding)

    def points_by_week(self, member_days: list[tuple[str, date]]) -> "WeekPoints":
        """The points deeds earned in these members' weeks, in two reads, and
        the weeks' revs to write them back with (for a batch; see WeekPoints)."""
        keys = list(dict.fromkeys(self._week_key(m, d) for m, d in member_days))
        by_key, revs = self._weeks(keys)
        return WeekPoints(self, by_key, revs)

    def deed_docs(self, deed_ids: list[str]) -> dict[str, dict]:
        """The stored deeds among these ids, by id (one read)."""
        return {doc["_id"]: doc for doc in self.db["deeds"].find({"_id": {"$in": list(dict.fromkeys(deed_ids))}})}

    def add_deeds(self, deeds: list[tuple[Deed, str, list[dict]]], weeks: "WeekPoints") -> tuple[set, set]:
        """Write new deeds whose points were computed from `weeks`: each
        member-week is noted first, guarded by the rev read with it; then the
        deeds of the weeks that were still as read are inserted in one round
        trip. Returns (ids inserted, ids of deeds whose week changed meanwhile:
        not written, to be computed again from a fresh read)."""
        by_week: dict[str, list[Deed]] = {}
        for deed, _, _ in deeds:
            by_week.setdefault(self._week_key(deed.member_id, deed.done_on), []).append(deed)
        stale: set = set()
        for key, week_deeds in by_week.items():
            if not self._reserve_in_week(key, weeks.rev(key), week_deeds):
                stale.update(d.id for d in week_deeds)
        inserted = self.db.insert_many_with_events("deeds", [
            ({**self._deed_doc(deed), "_id": deed.id, "request_hash": fingerprint, "created_at": utc_now()}, events)
            for deed, fingerprint, events in deeds if deed.id not in stale])
        return inserted, stale

    def save_deed(self, old: Deed, new: Deed, events: list[dict]) -> None:
        if not self.db.update_with_events("deeds", {"_id": old.id, "status": old.status},
                                          {"$set": self._deed_doc(new)}, events):
            raise StaleWrite(f"deed {old.id!r} changed meanwhile; try again")

    def deeds_of(self, member_ids: list[str], week: str) -> list[Deed]:
        docs = self._week_deeds([f"{m}|{week}" for m in dict.fromkeys(member_ids)])
        return [self.deed(d) for d in docs if d["week"] == week]

    @staticmethod
    def _deed_doc(d: Deed) -> dict:
        return {"member_id": d.member_id, "org_unit_id": d.org_unit_id, "done_on": stored_day(d.done_on),
                "week": iso_week(d.done_on), "category": d.category, "description": d.description,
                "recorded_by": d.recorded_by, "household_id": d.household_id, "points": d.points,
                "status": d.status, "decided_on": stored_day(d.decided_on), "note": d.note}

    @staticmethod
    def deed(doc: dict) -> Deed:
        return Deed(doc["_id"], doc["member_id"], doc["org_unit_id"], as_day(doc["done_on"]), doc["category"],
                    doc["description"], doc["recorded_by"], doc.get("household_id"), doc.get("points", 0),
                    doc.get("status", "recorded"), as_day(doc.get("decided_on")), doc.get("note"))

    # -- cases ------------------------------------------------------------------------------------
    def case_doc(self, case_id: str) -> dict | None:
        return self.db["cases"].find_one({"_id": case_id})

    def get_case(self, case_id: str) -> Case | None:
        doc = self.case_doc(case_id)
        return self.case(doc) if doc else None

    def add_case(self, case: Case, fingerprint: str, events: list[dict]) -> None:
        self.db.insert_with_events("cases", {**self._case_doc(case), "_id": case.id, "request_hash": fingerprint,
                                             "created_at": utc_now()}, events)

    def save_case(self, old: Case, new: Case, events: list[dict], applied_event: str | None = None) -> None:
        doc = self._case_doc(new)
        doc["version"] = old.version + 1
        update = {"$set": doc}
        if applied_event:
            update["$push"] = {"applied_events": {"$each": [applied_event], "$slice": -20}}
        if not self.db.update_with_events("cases", {"_id": old.id, "version": old.version}, update, events):
            raise StaleWrite(f"case {old.id!r} changed meanwhile; try again")

    def case_applied_events(self, case_id: str) -> list[str]:
        doc = self.db["cases"].find_one({"_id": case_id}, {"applied_events": 1}) or {}
        return doc.get("applied_events", [])

    @staticmethod
    def _case_doc(c: Case) -> dict:
        return {"kind": c.kind, "org_unit_id": c.org_unit_id, "opened_on": stored_day(c.opened_on), "summary": c.summary,
                "owner": c.owner, "team": c.team, "campaign": c.campaign, "status": c.status,
                "started_on": stored_day(c.started_on), "resolved_on": stored_day(c.resolved_on), "outcome": c.outcome,
                "closed_on": stored_day(c.closed_on), "close_reason": c.close_reason, "version": c.version}

    @staticmethod
    def case(doc: dict) -> Case:
        return Case(doc["_id"], doc["kind"], doc["org_unit_id"], as_day(doc["opened_on"]), doc["summary"],
                    doc.get("owner"), doc.get("team"), doc.get("campaign"), doc.get("status", "opened"),
                    as_day(doc.get("started_on")), as_day(doc.get("resolved_on")), doc.get("outcome"),
                    as_day(doc.get("closed_on")), doc.get("close_reason"), doc.get("version", 0))


def _points_in(docs: list[dict], category: str, excluding: str | None) -> int:
    return sum(d.get("points", 0) for d in docs
               if d["category"] == category and d.get("status") != "disputed" and d["_id"] != excluding)


class WeekPoints:
    """Points earned per member-week and category: the stored deeds' (read once
    for a batch), plus those of deeds taken earlier in the same batch, so the
    weekly cap holds across the batch as it does deed by deed."""

    def __init__(self, store: ActivitiesStore, stored: dict[str, list[dict]], revs: dict[str, int | None] | None = None):
        self._store = store
        self._stored = stored
        self._revs = revs or {}
        self._added: dict[tuple[str, str], int] = {}

    def rev(self, key: str) -> int | None:
        """The week's rev when it was read (None: it did not exist)."""
        return self._revs.get(key)

    def earned(self, member_id: str, category: str, day: date, excluding: str | None = None) -> int:
        key = self._store._week_key(member_id, day)
        return _points_in(self._stored.get(key, []), category, excluding) + self._added.get((key, category), 0)

    def add(self, member_id: str, category: str, day: date, points: int) -> None:
        key = (self._store._week_key(member_id, day), category)
        self._added[key] = self._added.get(key, 0) + points
