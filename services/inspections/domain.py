"""Inspection rules, in plain Python (no nameko, no pymongo).

A round lives in one document with its assessments and findings, so "one
assessment per unit per round" and every finding's state change are
single-document writes. The administrative tree comes in as a
`lianxin.membership_view.MembershipView`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from lianxin.domain import DomainEvent, not_future, raise_if
from lianxin.errors import Conflict, InvalidInput, NotFound

WARNING_DAYS = (20, 10)          # rectification_due_soon this many days before the due date
OPEN = ("confirmed", "planned", "in_progress", "submitted", "reopened")


# -- checklists ------------------------------------------------------------------------

@dataclass(frozen=True)
class Checklist:
    id: str
    name: str
    versions: dict = field(default_factory=dict)     # version -> tuple of item dicts
    version: int = 0                                  # document version (optimistic concurrency)

    @property
    def latest(self) -> int:
        return max(self.versions, default=0)


def _items(items) -> tuple:
    return tuple({"item": i["item"], "max_score": float(i["max_score"]), "weight": float(i.get("weight") or 1.0)}
                 for i in items)


def create_checklist(checklist_id: str, command: dict) -> tuple[Checklist, list[DomainEvent]]:
    checklist = Checklist(checklist_id, command["name"], {1: _items(command["items"])})
    return checklist, [_versioned(checklist, 1)]


def revise_checklist(checklist: Checklist, command: dict) -> tuple[Checklist, list[DomainEvent]]:
    items = _items(command["items"])
    if items == checklist.versions[checklist.latest]:
        raise Conflict("the items are those of the latest version already", {"items": ["unchanged"]})
    version = checklist.latest + 1
    revised = replace(checklist, versions={**checklist.versions, version: items})
    return revised, [_versioned(revised, version)]


def _versioned(checklist: Checklist, version: int) -> DomainEvent:
    return DomainEvent("checklist_versioned", {"checklist_id": checklist.id, "name": checklist.name,
                                               "version": version, "items": list(checklist.versions[version])},
                       None)


# -- rounds, assessments and findings --------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    id: str
    org_unit_id: str
    item: str
    severity: str
    description: str
    found_on: date
    status: str = "draft"
    owner: str | None = None
    due_on: date | None = None
    plan: str | None = None
    started_on: date | None = None
    submitted_on: date | None = None
    evidence: str | None = None
    verified_on: date | None = None
    history: tuple = ()              # ((status, on, note), ...)
    warned: tuple = ()               # ("<due_on>:<days>" | "<due_on>:overdue", ...)

    def days_overdue(self, today: date) -> int:
        if self.status not in OPEN or self.due_on is None or today <= self.due_on:
            return 0
        return (today - self.due_on).days


@dataclass(frozen=True)
class Round:
    id: str
    name: str
    scope_org_unit_ids: tuple
    unit_ids: tuple
    checklist_id: str
    checklist_version: int
    items: tuple
    starts_on: date
    ends_on: date
    inspectors: tuple = ()
    follows_round_id: str | None = None
    closed_on: date | None = None
    assessments: dict = field(default_factory=dict)   # unit -> {"id", "inspected_on", "scores", "total", "inspector"}
    findings: dict = field(default_factory=dict)      # finding id -> Finding
    version: int = 0

    @property
    def remaining(self) -> list[str]:
        return [u for u in self.unit_ids if u not in self.assessments]

    def finding(self, finding_id: str) -> Finding:
        try:
            return self.findings[finding_id]
        except KeyError:
            raise NotFound(f"finding {finding_id!r} does not exist") from None


def units_to_assess(view, scope: list[str]) -> list[str]:
    """The communities under the scope (a community in scope is itself one);
    a scope unit with no community under it is assessed itself."""
    out: list[str] = []
    for unit_id in scope:
        if not view.is_known(unit_id):
            raise NotFound(f"org unit {unit_id!r} does not exist",
                           {"scope_org_unit_ids": [f"unknown org unit {unit_id!r}"]})
        communities = [u for u in view.subtree(unit_id) if view.unit_level(u) == "community"]
        out.extend(communities or [unit_id])
    return list(dict.fromkeys(out))


def open_round(round_id: str, command: dict, checklist_id: str, version: int, items: tuple, view,
               previous: Round | None) -> tuple[Round, list[DomainEvent]]:
    if command.get("follows_round_id") and previous is None:
        raise NotFound(f"round {command['follows_round_id']!r} does not exist",
                       {"follows_round_id": [f"unknown round {command['follows_round_id']!r}"]})
    units = units_to_assess(view, command["scope_org_unit_ids"])
    rnd = Round(round_id, command["name"], tuple(command["scope_org_unit_ids"]), tuple(units), checklist_id,
                version, items, command["starts_on"], command["ends_on"], tuple(command.get("inspectors") or ()),
                command.get("follows_round_id"))
    return rnd, [DomainEvent("inspection_round_opened", {
        "round_id": rnd.id, "name": rnd.name, "scope_org_unit_ids": list(rnd.scope_org_unit_ids),
        "unit_ids": list(rnd.unit_ids), "checklist_id": checklist_id, "checklist_version": version,
        "starts_on": rnd.starts_on, "ends_on": rnd.ends_on, "inspectors": list(rnd.inspectors),
        "follows_round_id": rnd.follows_round_id}, None)]


def close_round(rnd: Round, command: dict) -> tuple[Round, list[DomainEvent]]:
    if rnd.closed_on is not None:
        raise Conflict(f"round {rnd.id!r} closed on {rnd.closed_on.isoformat()} already", {"round": ["closed"]})
    closed = replace(rnd, closed_on=command["closed_on"])
    return closed, [DomainEvent("inspection_round_closed", {"round_id": rnd.id, "closed_on": command["closed_on"]},
                                None)]


def _finding_data(rnd: Round, finding: Finding) -> dict:
    return {"finding_id": finding.id, "round_id": rnd.id, "org_unit_id": finding.org_unit_id}


def _in_round(rnd: Round, unit_id: str, on: date, date_field: str, today: date) -> None:
    if rnd.closed_on is not None or on > rnd.ends_on:
        raise Conflict(f"round {rnd.id!r} is closed (it ran {rnd.starts_on.isoformat()} to {rnd.ends_on.isoformat()})",
                       {date_field: ["after the round closed"]})
    errors: dict = {}
    if unit_id not in rnd.unit_ids:
        errors["org_unit_id"] = [f"{unit_id!r} is outside the round's scope"]
    if on < rnd.starts_on:
        errors.setdefault(date_field, []).append(f"is before the round began ({rnd.starts_on.isoformat()})")
    not_future(errors, date_field, on, today)
    raise_if(errors, "the assessment does not fit the round")


def score(items: tuple, scores: dict) -> float:
    """Weighted total on a 0-100 scale: each item's share of its maximum, by weight."""
    weights = sum(i["weight"] for i in items)
    return round(100 * sum(i["weight"] * scores[i["item"]] / i["max_score"] for i in items) / weights, 2)


def assess(rnd: Round, assessment_id: str, command: dict, finding_ids: list[str], today: date) -> tuple[Round, list[DomainEvent]]:
    """Score a unit of the round; findings given with it are confirmed findings."""
    unit_id, on = command["org_unit_id"], command["inspected_on"]
    _in_round(rnd, unit_id, on, "inspected_on", today)
    if unit_id in rnd.assessments:
        raise Conflict(f"{unit_id!r} was assessed in round {rnd.id!r} already",
                       {"org_unit_id": ["assessed already in this round"]})
    scores, errors = command["scores"], {}
    by_name = {i["item"]: i for i in rnd.items}
    for name in by_name:
        if name not in scores:
            errors[f"scores.{name}"] = ["missing: every checklist item is scored"]
    for name, value in scores.items():
        if name not in by_name:
            errors[f"scores.{name}"] = ["not an item of the round's checklist"]
        elif not 0 <= value <= by_name[name]["max_score"]:
            errors[f"scores.{name}"] = [f"must be between 0 and {by_name[name]['max_score']:g}"]
    raise_if(errors, "the scores do not fit the checklist")

    total = score(rnd.items, scores)
    assessment = {"id": assessment_id, "inspected_on": on, "scores": dict(scores), "total": total,
                  "inspector": command.get("inspector")}
    findings = dict(rnd.findings)
    events = [DomainEvent("unit_assessed", {"assessment_id": assessment_id, "round_id": rnd.id, "org_unit_id": unit_id,
                                            "inspected_on": on, "scores": dict(scores), "total": total,
                                            "inspector": command.get("inspector")}, unit_id)]
    for finding_id, item in zip(finding_ids, command.get("findings", [])):
        if finding_id in findings:
            raise Conflict(f"finding id {finding_id!r} is taken", {"findings": [f"{finding_id!r} exists"]})
        finding = Finding(finding_id, unit_id, item["item"], item["severity"], item["description"], on,
                          "confirmed", history=(("confirmed", on, None),))
        findings[finding_id] = finding
        events.append(_raised(rnd, finding))
    return replace(rnd, assessments={**rnd.assessments, unit_id: assessment}, findings=findings), events


def _raised(rnd: Round, finding: Finding) -> DomainEvent:
    return DomainEvent("finding_raised", {**_finding_data(rnd, finding), "item": finding.item,
                                          "severity": finding.severity, "description": finding.description,
                                          "found_on": finding.found_on, "status": finding.status},
                       finding.org_unit_id)


def raise_finding(rnd: Round, finding_id: str, command: dict, today: date) -> tuple[Round, list[DomainEvent]]:
    """A draft finding, to be confirmed or dismissed by an inspector."""
    _in_round(rnd, command["org_unit_id"], command["found_on"], "found_on", today)
    if finding_id in rnd.findings:
        raise Conflict(f"finding id {finding_id!r} is taken", {"id": ["taken"]})
    finding = Finding(finding_id, command["org_unit_id"], command["item"], command["severity"],
                      command["description"], command["found_on"], "draft",
                      history=(("draft", command["found_on"], None),))
    return replace(rnd, findings={**rnd.findings, finding_id: finding}), [_raised(rnd, finding)]


def _inspector(rnd: Round, inspector: str) -> None:
    if inspector not in rnd.inspectors:
        raise Conflict(f"{inspector!r} is not an inspector of round {rnd.id!r}; only its inspectors decide",
                       {"inspector": [f"not an inspector of round {rnd.id!r}"]})


def _change(rnd: Round, finding: Finding, **changes) -> Round:
    status, on, note = changes.pop("_history")
    changed = replace(finding, status=status, history=finding.history + ((status, on, note),), **changes)
    return replace(rnd, findings={**rnd.findings, finding.id: changed})


def _dated(errors: dict, name: str, day: date, not_before: date, what: str, today: date) -> None:
    not_future(errors, name, day, today)
    if day < not_before:
        errors.setdefault(name, []).append(f"is before {what} ({not_before.isoformat()})")


def decide_finding(rnd: Round, finding_id: str, command: dict, today: date) -> tuple[Round, list[DomainEvent]]:
    finding = rnd.finding(finding_id)
    _inspector(rnd, command["inspector"])
    if finding.status != "draft":
        raise Conflict(f"finding {finding_id!r} is {finding.status}; only a draft is confirmed or dismissed",
                       {"decision": [f"the finding is {finding.status}"]})
    errors: dict = {}
    _dated(errors, "decided_on", command["decided_on"], finding.found_on, "the finding", today)
    raise_if(errors, "the date is not possible")
    status = "confirmed" if command["decision"] == "confirm" else "dismissed"
    changed = _change(rnd, finding, _history=(status, command["decided_on"], command.get("note")))
    return changed, [DomainEvent(f"finding_{status}", {**_finding_data(rnd, finding),
                                                      "decided_on": command["decided_on"],
                                                      "inspector": command["inspector"]}, finding.org_unit_id)]


def plan_rectification(rnd: Round, finding_id: str, command: dict, today: date) -> tuple[Round, list[DomainEvent]]:
    finding = rnd.finding(finding_id)
    if finding.status not in ("confirmed", "planned", "reopened"):
        raise Conflict(f"finding {finding_id!r} is {finding.status}; a plan is made for a confirmed or reopened "
                       "finding (or replaces a plan not yet started)", {"status": [finding.status]})
    if command["due_on"] < finding.found_on:
        raise InvalidInput("the due date is before the finding", {"due_on": [
            f"is before the finding ({finding.found_on.isoformat()})"]})
    changed = _change(rnd, finding, owner=command["owner"], due_on=command["due_on"], plan=command["plan"],
                      _history=("planned", today, None))
    return changed, [DomainEvent("rectification_planned", {**_finding_data(rnd, finding), "owner": command["owner"],
                                                           "due_on": command["due_on"], "plan": command["plan"]},
                                 finding.org_unit_id)]


def start_rectification(rnd: Round, finding_id: str, command: dict, today: date) -> tuple[Round, list[DomainEvent]]:
    finding = rnd.finding(finding_id)
    if finding.status != "planned":
        raise Conflict(f"finding {finding_id!r} is {finding.status}; work starts on a planned rectification",
                       {"status": [finding.status]})
    errors: dict = {}
    _dated(errors, "started_on", command["started_on"], finding.found_on, "the finding", today)
    raise_if(errors, "the date is not possible")
    changed = _change(rnd, finding, started_on=command["started_on"],
                      _history=("in_progress", command["started_on"], None))
    return changed, [DomainEvent("rectification_started", {**_finding_data(rnd, finding),
                                                           "started_on": command["started_on"]},
                                 finding.org_unit_id)]


def submit_rectification(rnd: Round, finding_id: str, command: dict, today: date) -> tuple[Round, list[DomainEvent]]:
    finding = rnd.finding(finding_id)
    if finding.status not in ("planned", "in_progress", "reopened"):
        raise Conflict(f"finding {finding_id!r} is {finding.status}; evidence is submitted for a planned, "
                       "started or reopened rectification", {"status": [finding.status]})
    if finding.due_on is None:
        raise Conflict("make a rectification plan first", {"status": ["no plan"]})
    errors: dict = {}
    _dated(errors, "submitted_on", command["submitted_on"], finding.started_on or finding.found_on,
           "the work began" if finding.started_on else "the finding", today)
    raise_if(errors, "the date is not possible")
    changed = _change(rnd, finding, submitted_on=command["submitted_on"], evidence=command["evidence"],
                      _history=("submitted", command["submitted_on"], None))
    return changed, [DomainEvent("rectification_submitted", {**_finding_data(rnd, finding),
                                                             "submitted_on": command["submitted_on"],
                                                             "evidence": command["evidence"]}, finding.org_unit_id)]


def verify_rectification(rnd: Round, finding_id: str, command: dict, today: date) -> tuple[Round, list[DomainEvent]]:
    """Only an inspector of the round verifies; a failed verification reopens."""
    finding = rnd.finding(finding_id)
    _inspector(rnd, command["inspector"])
    if finding.status != "submitted":
        raise Conflict(f"finding {finding_id!r} is {finding.status}; only submitted evidence is verified",
                       {"status": [finding.status]})
    errors: dict = {}
    _dated(errors, "verified_on", command["verified_on"], finding.submitted_on, "the submission", today)
    raise_if(errors, "the date is not possible")
    on = command["verified_on"]
    if command["passed"]:
        changed = _change(rnd, finding, verified_on=on, _history=("verified", on, command.get("note")))
        return changed, [DomainEvent("rectification_verified", {**_finding_data(rnd, finding), "verified_on": on,
                                                                "inspector": command["inspector"],
                                                                "note": command.get("note")}, finding.org_unit_id)]
    changed = _change(rnd, finding, _history=("reopened", on, command.get("note")))
    return changed, [_reopened(rnd, finding, on, command, "verification_failed")]


def _reopened(rnd: Round, finding: Finding, on: date, command: dict, reason: str) -> DomainEvent:
    return DomainEvent("finding_reopened", {**_finding_data(rnd, finding), "reopened_on": on,
                                            "inspector": command["inspector"], "reason": reason,
                                            "note": command.get("note")}, finding.org_unit_id)


def follow_up(rnd: Round, finding_id: str, command: dict, today: date) -> tuple[Round, list[DomainEvent]]:
    """回头看: a later visit to a verified finding; reopens it if the problem came back."""
    finding = rnd.finding(finding_id)
    _inspector(rnd, command["inspector"])
    if finding.status != "verified":
        raise Conflict(f"finding {finding_id!r} is {finding.status}; follow-up visits are to verified findings",
                       {"status": [finding.status]})
    errors: dict = {}
    _dated(errors, "visited_on", command["visited_on"], finding.verified_on, "the verification", today)
    raise_if(errors, "the date is not possible")
    on = command["visited_on"]
    if not command["recurred"]:
        return replace(rnd, findings={**rnd.findings, finding.id: replace(
            finding, history=finding.history + (("follow_up_ok", on, command.get("note")),))}), []
    changed = _change(rnd, finding, verified_on=None, submitted_on=None,
                      _history=("reopened", on, command.get("note")))
    return changed, [_reopened(rnd, finding, on, command, "recurred")]


def warnings(rnd: Round, today: date) -> tuple[Round, list[DomainEvent]]:
    """rectification_due_soon at 20 and 10 days before the due date and
    rectification_overdue the day after it, each once per due date. When a
    plan starts inside a window, only the nearest warning is sent."""
    findings, events = dict(rnd.findings), []
    for finding in rnd.findings.values():
        if finding.status not in OPEN or finding.status == "confirmed" or finding.due_on is None:
            continue
        warned, due = set(finding.warned), finding.due_on.isoformat()
        days_left = (finding.due_on - today).days
        new: list[str] = []
        if days_left < 0:
            if f"{due}:overdue" not in warned:
                new = [f"{due}:overdue"] + [f"{due}:{d}" for d in WARNING_DAYS]
                events.append(DomainEvent("rectification_overdue", {**_finding_data(rnd, finding),
                                                                    "due_on": finding.due_on}, finding.org_unit_id))
        else:
            reached = [d for d in WARNING_DAYS if days_left <= d]
            if reached and f"{due}:{min(reached)}" not in warned:
                new = [f"{due}:{d}" for d in reached]
                events.append(DomainEvent("rectification_due_soon", {**_finding_data(rnd, finding),
                                                                     "due_on": finding.due_on,
                                                                     "days_left": min(reached)},
                                          finding.org_unit_id))
        if new:
            findings[finding.id] = replace(finding, warned=tuple(sorted(warned | set(new))))
    return replace(rnd, findings=findings), events


def ranking(rnd: Round) -> list[dict]:
    rows = sorted(rnd.assessments.items(), key=lambda kv: (-kv[1]["total"], kv[0]))
    return [{"rank": n, "org_unit_id": unit, "total": a["total"]} for n, (unit, a) in enumerate(rows, 1)]
