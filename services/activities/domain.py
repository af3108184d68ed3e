"""Activities rules, in plain Python (no nameko, no pymongo).

Membership facts (who belongs where, at which stage, on a given day) come in
as a `lianxin.membership_view.MembershipView`, this service's own read model
of membership's events.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from datetime import date, timedelta

from lianxin.catalog.activities import DIRECTOR_ROLES, SECRETARY_ROLES  # noqa: F401 - re-exported for reports
from lianxin.domain import DomainEvent, not_future, raise_if
from lianxin.errors import Conflict, InvalidInput, NotFound
from lianxin.obligations import (  # noqa: F401 - re-exported: activities' rules use them by these names
    DEFAULT_FREQUENCIES, OBLIGED_ORG_KINDS, Compliance, Period, compliance, frequencies_for, horizon, obliged_units,
    period_of, periods_between,
)

# Points are for deeds done, never for logins or time spent online.
NO_POINT_CATEGORIES = ("login", "online_time")


def _known_unit(view, unit_id: str, field_name: str = "org_unit_id") -> None:
    if not view.is_known(unit_id):
        raise NotFound(f"org unit {unit_id!r} does not exist", {field_name: [f"unknown org unit {unit_id!r}"]})


# -- activities ------------------------------------------------------------------------

@dataclass(frozen=True)
class Activity:
    id: str
    kind: str
    title: str
    org_unit_id: str
    scheduled_for: date
    series: str | None = None
    session_no: int | None = None
    status: str = "scheduled"          # scheduled -> held | cancelled
    held_on: date | None = None
    attendee_ids: tuple[str, ...] = ()
    absentees: tuple[dict, ...] = ()
    speakers: tuple[dict, ...] = ()
    minutes: str | None = None
    expected: int | None = None
    cancelled_on: date | None = None
    cancel_reason: str | None = None
    version: int = 0


def schedule_activity(activity_id: str, command: dict, view, session_no: int | None) -> tuple[Activity, list[DomainEvent]]:
    _known_unit(view, command["org_unit_id"])
    series = command.get("series")
    activity = Activity(activity_id, command["kind"], command["title"], command["org_unit_id"],
                        command["scheduled_for"], series, session_no if series else None)
    return activity, [DomainEvent("activity_scheduled", {
        "activity_id": activity.id, "kind": activity.kind, "series": activity.series,
        "session_no": activity.session_no, "title": activity.title, "org_unit_id": activity.org_unit_id,
        "scheduled_for": activity.scheduled_for}, activity.org_unit_id)]


def is_registered(view, member_id: str) -> bool:
    facts = view.member(member_id)
    return facts is not None and facts.registration is not None


def belongs(view, member_id: str | None, unit_ids: set, day: date) -> bool:
    """Was the member a member of one of these units on that day?"""
    facts = view.member(member_id) if member_id else None
    return facts is not None and facts.counted_on(day) and facts.unit_on(day) in unit_ids


def record_activity(activity: Activity, command: dict, view, today: date) -> tuple[Activity, list[DomainEvent]]:
    """Record an activity as held: who came, who did not and why, who spoke."""
    if activity.status != "scheduled":
        raise Conflict(f"activity {activity.id!r} is {activity.status} already", {"status": [activity.status]})
    held_on = command["held_on"]
    errors: dict = {}
    not_future(errors, "held_on", held_on, today)
    raise_if(errors, "the date is not possible")

    units = set(view.subtree(activity.org_unit_id))
    attendees = list(dict.fromkeys(command["attendee_ids"]))
    absent = [a["member_id"] for a in command.get("absentees", [])]
    speaker_ids = [s["member_id"] for s in command.get("speakers", []) if s.get("member_id")]
    unknown = [m for m in attendees + absent + speaker_ids if not is_registered(view, m)]
    if unknown:
        # Perhaps registered a moment ago (DESIGN.md rule 7): not known is not "not a member".
        raise NotFound("unknown member(s): " + ", ".join(unknown[:20]),
                       {"attendee_ids": [f"unknown members: {', '.join(unknown[:20])}"]})
    strangers = [m for m in attendees if not belongs(view, m, units, held_on)]
    if strangers:
        errors["attendee_ids"] = [f"not members of {activity.org_unit_id!r} on {held_on.isoformat()}: "
                                  + ", ".join(strangers[:20])]
    absent_strangers = [m for m in absent if not belongs(view, m, units, held_on)]
    if absent_strangers:
        errors["absentees"] = [f"not members of {activity.org_unit_id!r}: " + ", ".join(absent_strangers[:20])]
    both = sorted(set(attendees) & set(absent))
    if both:
        errors.setdefault("absentees", []).append("also listed as attending: " + ", ".join(both[:20]))
    unknown_speakers = [s["member_id"] for s in command.get("speakers", [])
                        if s.get("member_id") and not belongs(view, s["member_id"], units, held_on)]
    if unknown_speakers:
        errors["speakers"] = [f"not members of {activity.org_unit_id!r}: " + ", ".join(unknown_speakers[:20])]
    raise_if(errors, "the attendance does not fit the organisation")

    expected = None
    if activity.kind == "members_meeting":
        # 党员大会: valid only with more than half of the voting (full) members present.
        members = set(view.members_on(sorted(units), held_on)) | set(attendees)
        voting = {m for m in members if belongs(view, m, units, held_on)
                  and view.member(m).stage_on(held_on) == "full"}
        present = len(voting & set(attendees))
        expected = len(voting)
        if present * 2 <= len(voting):
            raise Conflict(
                f"a members' meeting needs more than half of its {len(voting)} voting members; "
                f"{present} attended ({len(voting) // 2 + 1} needed)",
                {"attendee_ids": [f"below quorum: {present} of {len(voting)} voting members"]})

    held = replace(activity, status="held", held_on=held_on, attendee_ids=tuple(attendees),
                   absentees=tuple(command.get("absentees", [])),
                   speakers=tuple({"member_id": s.get("member_id"), "name": s["name"], "role": s["role"]}
                                  for s in command.get("speakers", [])),
                   minutes=command.get("minutes"), expected=expected)
    return held, [DomainEvent("activity_held", {
        "activity_id": held.id, "kind": held.kind, "series": held.series, "session_no": held.session_no,
        "title": held.title, "org_unit_id": held.org_unit_id, "held_on": held_on,
        "attendee_ids": list(held.attendee_ids), "absentees": list(held.absentees),
        "speakers": list(held.speakers), "expected": expected}, held.org_unit_id)]


def cancel_activity(activity: Activity, command: dict, today: date) -> tuple[Activity, list[DomainEvent]]:
    if activity.status != "scheduled":
        raise Conflict(f"activity {activity.id!r} is {activity.status} and cannot be cancelled",
                       {"status": [activity.status]})
    errors: dict = {}
    not_future(errors, "cancelled_on", command["cancelled_on"], today)
    raise_if(errors, "the date is not possible")
    cancelled = replace(activity, status="cancelled", cancelled_on=command["cancelled_on"],
                        cancel_reason=command["reason"])
    return cancelled, [DomainEvent("activity_cancelled", {
        "activity_id": activity.id, "kind": activity.kind, "org_unit_id": activity.org_unit_id,
        "cancelled_on": command["cancelled_on"], "reason": command["reason"]}, activity.org_unit_id)]


# -- obligations (三会一课 compliance): the calendar rules are shared with reporting ------

def missed_obligations(unit_id: str, frequencies: dict[str, str], held_dates: dict[str, list[date]],
                       since: date, today: date) -> list[DomainEvent]:
    """obligation_missed for every CLOSED period since `since` with nothing held.
    The caller records each once (keyed by unit, kind and period)."""
    events = []
    for item in compliance(unit_id, frequencies, held_dates, since, today - timedelta(days=1)):
        if item.missed and item.period.end < today:
            events.append(DomainEvent("obligation_missed", {
                "org_unit_id": unit_id, "kind": item.kind, "period": item.period.label,
                "period_start": item.period.start, "period_end": item.period.end}, unit_id))
    return events


def set_obligation(command: dict, view) -> list[DomainEvent]:
    if command.get("org_unit_id"):
        _known_unit(view, command["org_unit_id"])
    return [DomainEvent("obligation_rule_set", {"kind": command["kind"], "frequency": command["frequency"],
                                                "org_unit_id": command.get("org_unit_id")},
                        command.get("org_unit_id"))]


# -- member appraisal (民主评议党员) ----------------------------------------------------------

@dataclass(frozen=True)
class AppraisalSheet:
    """One unit's grades for one year: one document, so the one-third rule is atomic."""
    org_unit_id: str
    year: int
    grades: dict = field(default_factory=dict)    # member_id -> grade
    version: int = 0

    @property
    def id(self) -> str:
        return f"{self.org_unit_id}:{self.year}"


def branch_unit(view, unit_id: str) -> str:
    """The unit whose Party organisation the member's appraisal belongs to: the
    nearest unit, the member's own or above it, with a branch (or committee)."""
    for candidate in [unit_id] + list(reversed(view.ancestors(unit_id))):
        if any(org.kind in OBLIGED_ORG_KINDS for org in view.party_orgs_of(candidate)):
            return candidate
    return unit_id


def appraisal_day(year: int, today: date) -> date:
    return min(date(year, 12, 31), today)


def grade_member(sheet: AppraisalSheet | None, command: dict, view, today: date) -> tuple[AppraisalSheet, list[DomainEvent]]:
    """One grade per member per year; 优秀 for at most a third of the unit's graded
    members; probationary members take part but are not graded."""
    member_id, year, grade = command["member_id"], command["year"], command["grade"]
    facts = view.member(member_id)
    if facts is None:
        raise NotFound(f"member {member_id!r} does not exist", {"member_id": [f"unknown member {member_id!r}"]})
    if year > today.year:
        raise InvalidInput("the year has not begun", {"year": ["is in the future"]})
    day = appraisal_day(year, today)
    if not facts.counted_on(day):
        raise Conflict(f"{member_id!r} is not a member on {day.isoformat()}", {"member_id": ["not a member then"]})
    stage = facts.stage_on(day)
    if stage == "probationary":
        raise Conflict("probationary members take part in the appraisal but are not graded",
                       {"member_id": ["is probationary"]})
    if stage != "full":
        raise Conflict(f"only full members are graded; {member_id!r} is {stage}", {"member_id": [f"is {stage}"]})
    unit_id = branch_unit(view, facts.unit_on(day))
    sheet = sheet or AppraisalSheet(unit_id, year)
    if member_id in sheet.grades:
        raise Conflict(f"{member_id!r} already has a grade for {year} ({sheet.grades[member_id]})",
                       {"member_id": ["graded already"]})
    if grade == "excellent":
        graded = [m for m in view.members_on(view.subtree(unit_id), day) if view.member(m).stage_on(day) == "full"]
        excellent = sum(1 for g in sheet.grades.values() if g == "excellent")
        if (excellent + 1) * 3 > len(graded):
            raise Conflict(f"优秀 is for at most a third of the graded members: {len(graded)} in {unit_id!r} "
                           f"allow {len(graded) // 3}, and {excellent} have it already",
                           {"grade": [f"at most {len(graded) // 3} excellent in {unit_id!r} for {year}"]})
    updated = replace(sheet, grades={**sheet.grades, member_id: grade})
    return updated, [DomainEvent("member_appraised", {"member_id": member_id, "org_unit_id": unit_id,
                                                      "year": year, "grade": grade}, unit_id)]


# -- small deeds (为群众办小事实事) -------------------------------------------------------------

@dataclass(frozen=True)
class Deed:
    id: str
    member_id: str
    org_unit_id: str
    done_on: date
    category: str
    description: str
    recorded_by: str
    household_id: str | None = None
    points: int = 0
    status: str = "recorded"           # recorded -> verified | disputed
    decided_on: date | None = None
    note: str | None = None


@lru_cache(maxsize=4096)  # a few years of days: every deed asks, several times
def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(week: str) -> tuple[date, date]:
    year, number = week.split("-W")
    start = date.fromisocalendar(int(year), int(number), 1)
    return start, start + timedelta(days=6)


def deed_points(category: str, rules: dict, earned_this_week: int) -> int:
    """Points per category, capped per member per week; none for logins or time online.
    rules: {category: {"points": n, "weekly_cap": m or None}}; unknown categories earn 1."""
    if category in NO_POINT_CATEGORIES:
        return 0
    rule = rules.get(category, {})
    points = int(rule.get("points", 1))
    cap = rule.get("weekly_cap")
    if cap is not None:
        points = max(0, min(points, int(cap) - earned_this_week))
    return points


def record_deed(deed_id: str, command: dict, view, today: date, points: int) -> tuple[Deed, list[DomainEvent]]:
    """谁记录谁证明: who recorded the deed is kept beside the member who did it."""
    member_id = command["member_id"]
    facts = view.member(member_id)
    if facts is None:
        raise NotFound(f"member {member_id!r} does not exist", {"member_id": [f"unknown member {member_id!r}"]})
    done_on = command["done_on"]
    errors: dict = {}
    not_future(errors, "done_on", done_on, today)
    raise_if(errors, "the date is not possible")
    if not facts.counted_on(done_on):
        raise Conflict(f"{member_id!r} was not an active member on {done_on.isoformat()}",
                       {"member_id": ["not an active member on done_on"]})
    household = command.get("household_id")
    if household and view.household_member_on(household, done_on) != member_id:
        # Perhaps linked a moment ago: intake retries, HTTP says which link is missing.
        raise NotFound(f"household {household!r} is not linked to {member_id!r} on {done_on.isoformat()}",
                       {"household_id": [f"not linked to {member_id!r} on {done_on.isoformat()}"]})
    unit_id = facts.unit_on(done_on)
    deed = Deed(deed_id, member_id, unit_id, done_on, command["category"], command["description"],
                command.get("recorded_by") or member_id, command.get("household_id"), points)
    return deed, [DomainEvent("deed_recorded", {
        "deed_id": deed.id, "member_id": member_id, "household_id": deed.household_id, "org_unit_id": unit_id,
        "done_on": done_on, "category": deed.category, "description": deed.description,
        "recorded_by": deed.recorded_by, "points": points}, unit_id)]


def decide_deed(deed: Deed, command: dict, today: date) -> tuple[Deed, list[DomainEvent]]:
    if deed.status != "recorded":
        raise Conflict(f"deed {deed.id!r} was {deed.status} already", {"decision": [deed.status]})
    errors: dict = {}
    not_future(errors, "decided_on", command["decided_on"], today)
    if command["decided_on"] < deed.done_on:
        errors.setdefault("decided_on", []).append("is before the deed was done")
    raise_if(errors, "the date is not possible")
    decided = replace(deed, status=command["decision"], decided_on=command["decided_on"], note=command.get("note"))
    return decided, [DomainEvent(f"deed_{command['decision']}", {
        "deed_id": deed.id, "member_id": deed.member_id, "org_unit_id": deed.org_unit_id,
        "decided_on": command["decided_on"], "note": command.get("note")}, deed.org_unit_id)]


# -- cases (实事难事, 矛盾纠纷) ------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    org_unit_id: str
    opened_on: date
    summary: str
    owner: str | None = None
    team: str | None = None
    campaign: str | None = None
    status: str = "opened"             # opened -> in_progress -> resolved | closed
    started_on: date | None = None
    resolved_on: date | None = None
    outcome: str | None = None
    closed_on: date | None = None
    close_reason: str | None = None
    version: int = 0


def _case_data(case: Case) -> dict:
    return {"case_id": case.id, "kind": case.kind, "org_unit_id": case.org_unit_id}


def open_case(case_id: str, command: dict, view, today: date) -> tuple[Case, list[DomainEvent]]:
    _known_unit(view, command["org_unit_id"])
    errors: dict = {}
    not_future(errors, "opened_on", command["opened_on"], today)
    raise_if(errors, "the date is not possible")
    case = Case(case_id, command["kind"], command["org_unit_id"], command["opened_on"], command["summary"],
                command.get("owner"), command.get("team"), command.get("campaign"))
    return case, [DomainEvent("case_opened", {**_case_data(case), "opened_on": case.opened_on,
                                              "summary": case.summary, "owner": case.owner, "team": case.team,
                                              "campaign": case.campaign}, case.org_unit_id)]


def _open_for(case: Case, action: str) -> None:
    if case.status not in ("opened", "in_progress"):
        raise Conflict(f"case {case.id!r} is {case.status} and cannot be {action}", {"status": [case.status]})


def _date_after(errors: dict, name: str, day: date, case: Case, today: date) -> None:
    not_future(errors, name, day, today)
    earliest = case.started_on or case.opened_on
    if day < earliest:
        errors.setdefault(name, []).append(f"is before the case was {'started' if case.started_on else 'opened'}"
                                           f" ({earliest.isoformat()})")


def start_case(case: Case, command: dict, today: date) -> tuple[Case, list[DomainEvent]]:
    if case.status != "opened":
        raise Conflict(f"case {case.id!r} is {case.status}; only an opened case starts", {"status": [case.status]})
    errors: dict = {}
    _date_after(errors, "started_on", command["started_on"], case, today)
    raise_if(errors, "the date is not possible")
    started = replace(case, status="in_progress", started_on=command["started_on"],
                      owner=command.get("owner") or case.owner)
    return started, [DomainEvent("case_started", {**_case_data(case), "started_on": started.started_on,
                                                  "owner": started.owner}, case.org_unit_id)]


def resolve_case(case: Case, command: dict, today: date) -> tuple[Case, list[DomainEvent]]:
    _open_for(case, "resolved")
    errors: dict = {}
    _date_after(errors, "resolved_on", command["resolved_on"], case, today)
    raise_if(errors, "the date is not possible")
    resolved = replace(case, status="resolved", resolved_on=command["resolved_on"], outcome=command["outcome"])
    return resolved, [DomainEvent("case_resolved", {**_case_data(case), "resolved_on": resolved.resolved_on,
                                                    "outcome": resolved.outcome}, case.org_unit_id)]


def close_case(case: Case, command: dict, today: date) -> tuple[Case, list[DomainEvent]]:
    _open_for(case, "closed")
    errors: dict = {}
    _date_after(errors, "closed_on", command["closed_on"], case, today)
    raise_if(errors, "the date is not possible")
    closed = replace(case, status="closed", closed_on=command["closed_on"], close_reason=command["reason"])
    return closed, [DomainEvent("case_closed", {**_case_data(case), "closed_on": closed.closed_on,
                                                "reason": closed.close_reason}, case.org_unit_id)]
