"""Honours rules, in plain Python (no nameko, no pymongo).

A category's nominations of one year live in one "roll", so the yearly quota
and "one nomination per nominee" are single-document rules. Eligibility is
decided from this service's own read models of other services' events (no
synchronous calls): membership (MembershipView), appraisal grades, and
rectifications (Eligibility).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from lianxin.domain import DomainEvent
from lianxin.errors import Conflict, InvalidInput, NotFound


def add_working_days(day: date, days: int) -> date:
    """The `days`-th working day (Monday to Friday) after `day`; public holidays are not known here."""
    current, left = day, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


# -- categories ---------------------------------------------------------------------

@dataclass(frozen=True)
class Category:
    id: str
    name: str
    nominee_kind: str
    awarding_body: str
    yearly_quota: int | None = None
    notice_days: int = 5
    exclude_overdue_rectification: bool = False
    external: bool = False


def create_category(category_id: str, command: dict) -> tuple[Category, list[DomainEvent]]:
    category = Category(category_id, command["name"], command["nominee_kind"], command["awarding_body"],
                        command.get("yearly_quota"), command.get("notice_days", 5),
                        bool(command.get("exclude_overdue_rectification")))
    return category, [_category_created(category)]


def _category_created(c: Category) -> DomainEvent:
    return DomainEvent("honour_category_created", {"category_id": c.id, "name": c.name,
                                                   "nominee_kind": c.nominee_kind, "awarding_body": c.awarding_body,
                                                   "yearly_quota": c.yearly_quota}, None)


def external_category_id(title: str, awarding_body: str) -> str:
    return "external-" + hashlib.sha1(f"{title}|{awarding_body}".encode()).hexdigest()[:12]


def external_category(title: str, nominee_kind: str, awarding_body: str) -> tuple[Category, list[DomainEvent]]:
    """Honours from higher bodies get a category of their own, made on first sight."""
    category = Category(external_category_id(title, awarding_body), title, nominee_kind, awarding_body,
                        notice_days=0, external=True)
    return category, [_category_created(category)]


# -- eligibility facts (this service's read model) ------------------------------------------

@dataclass
class Eligibility:
    """Appraisal grades and rectification deadlines, from their events, in
    any order: a member's grade of a year is the one of the latest appraisal
    by (occurred_at, event_id), so instances that received the same events in
    another order (scale-out: each applies what others stored as it finds it)
    answer the same."""
    grades: dict = field(default_factory=dict)        # (member_id, year) -> grade
    findings: dict = field(default_factory=dict)      # finding id -> {"unit", "plans", "verified", "reopened"}
    grade_stamps: dict = field(default_factory=dict)  # (member_id, year) -> (occurred, event_id) of its grade

    def apply(self, event_type: str, data: dict, occurred: datetime, event_id: str = "") -> None:
        if event_type == "member_appraised":
            key, stamp = (data["member_id"], data["year"]), (occurred, event_id)
            if key not in self.grade_stamps or stamp >= self.grade_stamps[key]:
                self.grades[key] = data["grade"]
                self.grade_stamps[key] = stamp
            return
        finding = self.findings.setdefault(data["finding_id"], {"unit": data["org_unit_id"], "plans": [],
                                                                 "verified": [], "reopened": []})
        if event_type == "rectification_planned":
            finding["plans"].append((occurred, data["due_on"]))
        elif event_type == "rectification_verified":
            finding["verified"].append((data["verified_on"], occurred))
        elif event_type == "finding_reopened":
            finding["reopened"].append((data["reopened_on"], occurred))

    def overdue_in(self, unit_id: str, day: date) -> int:
        """Rectifications of the unit past their due date and not verified on `day`."""
        count = 0
        for f in self.findings.values():
            if f["unit"] != unit_id or not f["plans"]:
                continue
            due = max(f["plans"])[1]
            verified = [v for v in f["verified"] if v[0] <= day]
            reopened = [r for r in f["reopened"] if r[0] <= day]
            rectified = verified and (not reopened or max(verified) > max(reopened))
            if due < day and not rectified:
                count += 1
        return count


EVENT_TYPES = ("member_appraised", "rectification_planned", "rectification_verified", "finding_reopened")


# -- nominations ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Nomination:
    id: str
    category_id: str
    nominee_id: str
    nominee_kind: str
    org_unit_id: str
    year: int
    reason: str | None = None
    status: str = "nominated"     # nominated -> approved -> publicized -> awarded -> revoked; or rejected
    notice_ends_on: date | None = None
    awarded_on: date | None = None
    objections: tuple = ()        # ({"raised_on", "by", "content"}, ...)
    history: tuple = ()           # ((status, on, note), ...)


@dataclass(frozen=True)
class Roll:
    """One category's nominations of one year: one document."""
    category_id: str
    year: int
    nominations: dict = field(default_factory=dict)
    version: int = 0

    @property
    def id(self) -> str:
        return f"{self.category_id}:{self.year}"

    @property
    def awarded(self) -> int:
        return sum(1 for n in self.nominations.values() if n.status in ("awarded", "revoked"))


def _data(n: Nomination) -> dict:
    return {"nomination_id": n.id, "category_id": n.category_id, "nominee_id": n.nominee_id,
            "org_unit_id": n.org_unit_id, "year": n.year}


def check_eligible(category: Category, nominee_id: str, year: int, view, eligibility: Eligibility,
                   on: date) -> str:
    """The nominee's org unit, or an error naming the rule that excludes them."""
    if category.nominee_kind == "collective":
        if not view.is_known(nominee_id):
            raise NotFound(f"org unit {nominee_id!r} does not exist",
                           {"nominee_id": [f"unknown org unit {nominee_id!r}"]})
        unit = nominee_id
    else:
        facts = view.member(nominee_id)
        if facts is None or facts.registration is None:
            raise NotFound(f"member {nominee_id!r} does not exist", {"nominee_id": [f"unknown member {nominee_id!r}"]})
        if not facts.counted_on(on) or facts.stage_on(on) != "full":
            raise Conflict(f"{nominee_id!r} is not an active full member on {on.isoformat()}",
                           {"nominee_id": ["an individual honour is for an active full member"]})
        if eligibility.grades.get((nominee_id, year)) == "unqualified":
            raise Conflict(f"{nominee_id!r} was graded 不合格 in the {year} appraisal",
                           {"nominee_id": [f"graded unqualified in {year}"]})
        unit = facts.unit_on(on)
    if category.exclude_overdue_rectification and (overdue := eligibility.overdue_in(unit, on)):
        raise Conflict(f"{unit!r} has {overdue} overdue rectification(s), which this category excludes",
                       {"nominee_id": ["the unit has an overdue rectification"]})
    return unit


def nominate(roll: Roll, nomination_id: str, command: dict, category: Category, view, eligibility: Eligibility,
             today: date) -> tuple[Roll, list[DomainEvent]]:
    if category.external:
        raise Conflict("honours of higher bodies arrive as awarded; they are not nominated here",
                       {"category_id": ["an external category"]})
    year = command["year"]
    if year > today.year:
        raise InvalidInput("the year has not begun", {"year": ["is in the future"]})
    if any(n.nominee_id == command["nominee_id"] and n.status != "rejected" for n in roll.nominations.values()):
        raise Conflict(f"{command['nominee_id']!r} is nominated for {category.name} {year} already",
                       {"nominee_id": ["nominated already this year"]})
    on = command.get("nominated_on") or min(today, date(year, 12, 31))
    if on > today:
        raise InvalidInput("the nomination date is in the future", {"nominated_on": ["is in the future"]})
    unit = check_eligible(category, command["nominee_id"], year, view, eligibility, on)
    nomination = Nomination(nomination_id, category.id, command["nominee_id"], category.nominee_kind, unit, year,
                            command.get("reason"), history=(("nominated", command.get("nominated_on") or today, None),))
    return replace(roll, nominations={**roll.nominations, nomination_id: nomination}), [
        DomainEvent("nomination_submitted", {**_data(nomination), "nominee_kind": nomination.nominee_kind,
                                             "reason": nomination.reason}, unit)]


TRANSITIONS = {"approve": ("nominated",), "publicize": ("approved",), "award": ("publicized",),
               "reject": ("nominated", "approved", "publicized"), "revoke": ("awarded",)}
RESULT = {"approve": "approved", "publicize": "publicized", "award": "awarded", "reject": "rejected",
          "revoke": "revoked"}


def decide(roll: Roll, nomination_id: str, command: dict, category: Category, view, eligibility: Eligibility,
           today: date) -> tuple[Roll, list[DomainEvent]]:
    n = roll.nominations.get(nomination_id)
    if n is None:
        raise NotFound(f"nomination {nomination_id!r} does not exist")
    decision, on = command["decision"], command["decided_on"]
    if n.status not in TRANSITIONS[decision]:
        raise Conflict(f"a {n.status} nomination cannot be {RESULT[decision]}: "
                       f"nominated > approved > publicized (公示) > awarded, or rejected; awarded may be revoked",
                       {"decision": [f"not allowed when {n.status}"]})
    errors: dict = {}
    if on > today:
        errors["decided_on"] = ["is in the future"]
    last = n.history[-1][1]
    if on < last:
        errors.setdefault("decided_on", []).append(f"is before the last step ({last.isoformat()})")
    if errors:
        raise InvalidInput("the date is not possible", errors)
    changes: dict = {}
    event_data = {**_data(n), "decided_on": on}
    if decision == "publicize":
        changes["notice_ends_on"] = add_working_days(on, category.notice_days)
        event_data["notice_ends_on"] = changes["notice_ends_on"]
    elif decision == "award":
        if on <= n.notice_ends_on:
            raise Conflict(f"public notice runs until {n.notice_ends_on.isoformat()}; award after it",
                           {"decided_on": [f"within the public notice (until {n.notice_ends_on.isoformat()})"]})
        if category.yearly_quota is not None and roll.awarded >= category.yearly_quota:
            raise Conflict(f"{category.name} {n.year}: the quota of {category.yearly_quota} is used up",
                           {"category_id": [f"yearly quota {category.yearly_quota} reached"]})
        check_eligible(category, n.nominee_id, n.year, view, eligibility, on)
        changes["awarded_on"] = on
    elif decision in ("reject", "revoke"):
        event_data["note"] = command["note"]
    changed = replace(n, status=RESULT[decision], history=n.history + ((RESULT[decision], on, command.get("note")),),
                      **changes)
    roll = replace(roll, nominations={**roll.nominations, n.id: changed})
    if decision == "award":
        return roll, [_awarded(changed, category, on)]
    if decision == "revoke":
        return roll, [DomainEvent("honour_revoked", {"honour_id": n.id, "category_id": n.category_id,
                                                     "nominee_id": n.nominee_id, "org_unit_id": n.org_unit_id,
                                                     "revoked_on": on, "reason": command["note"]}, n.org_unit_id)]
    event_type = {"approve": "nomination_approved", "publicize": "nomination_publicized",
                  "reject": "nomination_rejected"}[decision]
    return roll, [DomainEvent(event_type, event_data, n.org_unit_id)]


def _awarded(n: Nomination, category: Category, on: date) -> DomainEvent:
    return DomainEvent("honour_awarded", {"honour_id": n.id, "category_id": category.id,
                                          "category_name": category.name, "nominee_kind": n.nominee_kind,
                                          "nominee_id": n.nominee_id, "org_unit_id": n.org_unit_id, "year": n.year,
                                          "awarded_on": on, "awarding_body": category.awarding_body,
                                          "external": category.external}, n.org_unit_id)


def object_to(roll: Roll, nomination_id: str, command: dict, today: date) -> tuple[Roll, list[DomainEvent]]:
    n = roll.nominations.get(nomination_id)
    if n is None:
        raise NotFound(f"nomination {nomination_id!r} does not exist")
    published_on = next((d for s, d, _ in n.history if s == "publicized"), None)
    if n.status != "publicized" or not (published_on <= command["raised_on"] <= n.notice_ends_on) \
            or command["raised_on"] > today:
        raise Conflict("objections are raised during public notice (公示)",
                       {"raised_on": ["outside the public notice"]})
    objection = {"raised_on": command["raised_on"], "by": command["by"], "content": command["content"]}
    changed = replace(n, objections=n.objections + (objection,))
    return replace(roll, nominations={**roll.nominations, n.id: changed}), [
        DomainEvent("objection_raised", {**_data(n), **objection}, n.org_unit_id)]


def record_external(roll: Roll, honour_id: str, command: dict, category: Category, view) -> tuple[Roll, list[DomainEvent]]:
    """An honour a higher body awarded: straight onto the roll as awarded."""
    on = command["awarded_on"]
    if category.nominee_kind != command["nominee_kind"]:
        raise InvalidInput(f"{category.name!r} from {category.awarding_body} is a {category.nominee_kind} honour",
                           {"nominee_kind": [f"must be {category.nominee_kind} for this title"]})
    if category.nominee_kind == "collective":
        if not view.is_known(command["nominee_id"]):
            raise NotFound(f"org unit {command['nominee_id']!r} does not exist",
                           {"nominee_id": [f"unknown org unit {command['nominee_id']!r}"]})
        unit = command["nominee_id"]
    else:
        facts = view.member(command["nominee_id"])
        if facts is None or facts.registration is None:
            raise NotFound(f"member {command['nominee_id']!r} does not exist",
                           {"nominee_id": [f"unknown member {command['nominee_id']!r}"]})
        unit = facts.unit_on(on)
    n = Nomination(honour_id, category.id, command["nominee_id"], category.nominee_kind, unit, on.year,
                   status="awarded", awarded_on=on, history=(("awarded", on, command["awarding_body"]),))
    return replace(roll, nominations={**roll.nominations, honour_id: n}), [_awarded(n, category, on)]
