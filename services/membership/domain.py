"""Membership rules, in plain Python (no nameko, no pymongo).

Functions take commands (validated dicts) and current state, and return the
new state plus the events it causes, or raise an error naming the rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from lianxin.errors import InvalidInput, NotFound

LEVELS = ("district", "street", "zone", "community", "grid")
ADMITTED = ("probationary", "full")
PROBATION_YEARS = 1
MIN_AGE = 18  # 年满十八岁 to apply


@dataclass(frozen=True)
class DomainEvent:
    type: str
    data: dict
    org_unit_id: str | None


@dataclass(frozen=True)
class OrgUnit:
    id: str
    name: str
    level: str
    parent_id: str | None
    ancestors: tuple[str, ...] = ()  # root first; lets a subtree be one query

    @property
    def path(self) -> tuple[str, ...]:
        return self.ancestors + (self.id,)


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    gender: str
    birth_date: date
    org_unit_id: str
    stage: str
    stage_since: date
    admitted_on: date | None
    status: str = "active"
    id_number: str | None = None
    phone: str | None = None
    stage_history: tuple = field(default=())


def create_org_unit(unit_id: str, command: dict, parent: OrgUnit | None) -> tuple[OrgUnit, list[DomainEvent]]:
    parent_id = command.get("parent_id")
    if parent_id and parent is None:
        raise NotFound(f"parent org unit {parent_id!r} does not exist",
                       {"parent_id": [f"unknown org unit {parent_id!r}"]})
    level = command["level"]
    if parent is not None and LEVELS.index(parent.level) >= LEVELS.index(level):
        raise InvalidInput(
            f"a {level} cannot sit under a {parent.level}: the tree runs district > street > zone > community > grid",
            {"parent_id": [f"a {parent.level} cannot be the parent of a {level}"]},
        )
    unit = OrgUnit(unit_id, command["name"], level, parent_id, parent.path if parent else ())
    event = DomainEvent("org_unit_created", {
        "org_unit_id": unit.id, "name": unit.name, "level": unit.level, "parent_id": unit.parent_id,
    }, unit.id)
    return unit, [event]


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def register_member(member_id: str, command: dict, org_unit: OrgUnit | None, today: date) -> tuple[Member, list[DomainEvent]]:
    """Register a member at a stage, checking the dates make sense together."""
    org_unit_id = command["org_unit_id"]
    if org_unit is None:
        raise NotFound(f"org unit {org_unit_id!r} does not exist",
                       {"org_unit_id": [f"unknown org unit {org_unit_id!r}"]})
    errors: dict[str, list[str]] = {}
    birth, stage, admitted = command["birth_date"], command["stage"], command.get("admitted_on")
    if birth > today:
        errors.setdefault("birth_date", []).append("is in the future")
    if stage in ADMITTED:
        since = command.get("stage_since") or (
            admitted if stage == "probationary" else _years_after(admitted, PROBATION_YEARS))
        if admitted > today:
            errors.setdefault("admitted_on", []).append("is in the future")
        if admitted < _years_after(birth, MIN_AGE):
            errors.setdefault("admitted_on", []).append(f"is before the member turned {MIN_AGE}")
        if stage == "full" and since < _years_after(admitted, PROBATION_YEARS):
            errors.setdefault("stage_since", []).append(
                "a full member's stage begins at least one year of probation after admission")
        if stage == "full" and _years_after(admitted, PROBATION_YEARS) > today:
            errors.setdefault("admitted_on", []).append(
                "less than a year ago: a full member has served one year of probation")
        if stage == "probationary" and since < admitted:
            errors.setdefault("stage_since", []).append("is before the admission date")
    else:
        since = command.get("stage_since") or today
        if admitted is not None:
            errors.setdefault("admitted_on", []).append(f"must be empty: a member at stage {stage} is not admitted yet")
        if since < _years_after(birth, MIN_AGE):
            errors.setdefault("stage_since", []).append(f"is before the person turned {MIN_AGE}")
    if since > today:
        errors.setdefault("stage_since", []).append("is in the future")
    if errors:
        raise InvalidInput("the member's dates do not fit together", errors)

    member = Member(
        id=member_id, name=command["name"], gender=command["gender"], birth_date=birth,
        org_unit_id=org_unit_id, stage=stage, stage_since=since, admitted_on=admitted,
        id_number=command.get("id_number"), phone=command.get("phone"),
        stage_history=((stage, since),),
    )
    event = DomainEvent("member_registered", {
        "member_id": member.id, "name": member.name, "gender": member.gender,
        "birth_date": member.birth_date, "org_unit_id": member.org_unit_id, "stage": member.stage,
        "stage_since": member.stage_since, "admitted_on": member.admitted_on,
    }, org_unit_id)
    return member, [event]
