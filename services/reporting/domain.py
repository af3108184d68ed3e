"""The reporting read model, in plain Python.

It is a pure function of the set of events applied to it, whatever their
order: each fact is kept per entity and the figures are derived from the
facts, so late and out-of-order events land where their business dates say,
and a rebuild from the event store gives exactly the live figures.

Business time rules (API.md): a member counts from `member_since` (admission
date, or the date of the stage registered with) until they leave.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from lianxin.envelope import Event
from lianxin.fields import parse_aware_datetime
from lianxin.errors import NotFound

STAGES = ("applicant", "activist", "candidate", "probationary", "full")


@dataclass
class Unit:
    id: str
    name: str
    level: str
    parent_id: str | None


@dataclass
class MemberFacts:
    id: str
    org_unit_id: str
    stage: str
    since: date
    left_on: date | None = None

    def counted_on(self, day: date) -> bool:
        return self.since <= day and (self.left_on is None or self.left_on > day)


@dataclass
class ReportModel:
    units: dict[str, Unit] = field(default_factory=dict)
    children: dict[str, set] = field(default_factory=lambda: defaultdict(set))
    members: dict[str, MemberFacts] = field(default_factory=dict)
    members_by_unit: dict[str, set] = field(default_factory=lambda: defaultdict(set))
    applied: int = 0
    last_occurred_at: datetime | None = None

    # -- applying events ----------------------------------------------------------
    def apply(self, events: list[Event]) -> None:
        for event in events:
            handler = getattr(self, f"_on_{event.event_type}", None)
            if handler is not None:
                handler(event.data)
            self.applied += 1
            occurred = parse_aware_datetime(event.envelope["occurred_at"])
            if self.last_occurred_at is None or occurred > self.last_occurred_at:
                self.last_occurred_at = occurred

    def _on_org_unit_created(self, data: dict) -> None:
        unit = Unit(data["org_unit_id"], data["name"], data["level"], data.get("parent_id"))
        self.units[unit.id] = unit
        if unit.parent_id:
            self.children[unit.parent_id].add(unit.id)

    def _on_member_registered(self, data: dict) -> None:
        since = data["admitted_on"] or data["stage_since"]
        facts = MemberFacts(data["member_id"], data["org_unit_id"], data["stage"], since)
        self._place(facts)

    def _place(self, facts: MemberFacts) -> None:
        old = self.members.get(facts.id)
        if old is not None:
            self.members_by_unit[old.org_unit_id].discard(facts.id)
        self.members[facts.id] = facts
        self.members_by_unit[facts.org_unit_id].add(facts.id)

    # -- queries ------------------------------------------------------------------------
    def subtree(self, unit_id: str) -> list[str]:
        """The unit and everything under it (children may arrive before parents)."""
        if unit_id not in self.units and unit_id not in self.children:
            raise NotFound(f"org unit {unit_id!r} is unknown to reporting",
                           {"org_unit_id": [f"unknown org unit {unit_id!r}"]})
        out, stack = [], [unit_id]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(self.children.get(current, ()))
        return out

    def summary(self, unit_id: str, start: date, end: date) -> dict:
        units = self.subtree(unit_id)
        by_stage = dict.fromkeys(STAGES, 0)
        for uid in units:
            for mid in self.members_by_unit.get(uid, ()):
                facts = self.members[mid]
                if facts.counted_on(end):
                    by_stage[facts.stage] += 1
        return {
            "org_unit_id": unit_id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "members": {"total": sum(by_stage.values()), "by_stage": by_stage},
            "household_links": 0,
            "deeds": {"total": 0, "members_with_deeds": 0},
            "activities": {"by_kind": {}},
            "lecture_series": [],
            "inspections": {"rounds": 0, "units_inspected": 0, "assessments": 0,
                            "findings": 0, "rectified": 0, "overdue": 0},
            "honours": {"collective": 0, "individual": 0, "by_category": {}},
            "cases": {"difficult_matters_solved": 0, "disputes_mediated": 0},
        }
