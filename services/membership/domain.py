"""Membership rules, in plain Python (no nameko, no pymongo).

Functions take commands (validated dicts) and current state, and return the
new state plus the events it causes, or raise an error naming the rule:
InvalidInput (400) for dates and values that cannot be, Conflict (409) for
state changes the rules forbid, NotFound (404) for unknown references.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import MAXYEAR, MINYEAR, date, timedelta

from lianxin.catalog.membership import LEFT_STATUSES
from lianxin.domain import DomainEvent, not_future, raise_if
from lianxin.errors import Conflict, InvalidInput, NotFound

LEVELS = ("district", "street", "zone", "community", "grid")
PARTY_KINDS = ("working_committee", "committee", "general_branch", "branch", "group")
# Where members belong: any Party organisation but a group (a group is part of a branch).
MEMBER_ORG_KINDS = ("working_committee", "committee", "general_branch", "branch")
STAGES = ("applicant", "activist", "candidate", "probationary", "full")
ADMITTED = ("probationary", "full")
MEMBER_STATUSES = ("active", "flowing")
PROBATION_YEARS = 1
ACTIVIST_YEARS = 1          # at least a year as activist before becoming a candidate
MIN_AGE = 18                # 年满十八岁 to apply
BIRTHDAY_NOTICE_DAYS = 7


def years_after(day: date, years: int) -> date:
    if not MINYEAR <= day.year + years <= MAXYEAR:
        return _beyond_the_calendar(years)
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def months_after(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    if not MINYEAR <= year <= MAXYEAR:
        return _beyond_the_calendar(months)
    for dd in (day.day, 30, 29, 28):
        try:
            return date(year, month, dd)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _beyond_the_calendar(step: int) -> date:
    # A date given near 9999-12-31 (or 0001-01-01): the rules compare with the
    # calendar's end instead of failing on it (found by fuzzing intake).
    return date.max if step > 0 else date.min


# -- the administrative tree -----------------------------------------------------

@dataclass(frozen=True)
class OrgUnit:
    id: str
    name: str
    level: str
    parent_id: str | None
    ancestors: tuple[str, ...] = ()  # root first; lets a subtree be one query
    deleted: bool = False

    @property
    def path(self) -> tuple[str, ...]:
        return self.ancestors + (self.id,)


def _unknown_unit(field_name: str, unit_id: str) -> NotFound:
    return NotFound(f"org unit {unit_id!r} does not exist", {field_name: [f"unknown org unit {unit_id!r}"]})


def _check_level(child_level: str, parent: OrgUnit) -> None:
    if LEVELS.index(parent.level) >= LEVELS.index(child_level):
        raise InvalidInput(
            f"a {child_level} cannot sit under a {parent.level}: the tree runs district > street > zone > community > grid",
            {"parent_id": [f"a {parent.level} cannot be the parent of a {child_level}"]},
        )


def create_org_unit(unit_id: str, command: dict, parent: OrgUnit | None) -> tuple[OrgUnit, list[DomainEvent]]:
    parent_id = command.get("parent_id")
    if parent_id and (parent is None or parent.deleted):
        raise _unknown_unit("parent_id", parent_id)
    level = command["level"]
    if parent is not None:
        _check_level(level, parent)
    unit = OrgUnit(unit_id, command["name"], level, parent_id, parent.path if parent else ())
    return unit, [DomainEvent("org_unit_created", {
        "org_unit_id": unit.id, "name": unit.name, "level": unit.level, "parent_id": unit.parent_id,
    }, unit.id)]


def move_org_unit(unit: OrgUnit, new_parent: OrgUnit | None, command: dict, today: date) -> tuple[OrgUnit, list[DomainEvent]]:
    if new_parent is None or new_parent.deleted:
        raise _unknown_unit("parent_id", command["parent_id"])
    if unit.id in new_parent.path:
        raise Conflict(f"{unit.id!r} cannot move under itself or its own subtree",
                       {"parent_id": [f"{new_parent.id!r} is inside {unit.id!r}"]})
    if new_parent.id == unit.parent_id:
        raise Conflict(f"{unit.id!r} is already under {new_parent.id!r}", {"parent_id": ["unchanged"]})
    _check_level(unit.level, new_parent)
    errors: dict = {}
    not_future(errors, "moved_on", command["moved_on"], today)
    raise_if(errors, "the move date is not possible")
    moved = replace(unit, parent_id=new_parent.id, ancestors=new_parent.path)
    return moved, [DomainEvent("org_unit_moved", {
        "org_unit_id": unit.id, "from_parent_id": unit.parent_id, "to_parent_id": new_parent.id,
        "moved_on": command["moved_on"]}, unit.id)]


def rename_org_unit(unit: OrgUnit, command: dict, today: date) -> tuple[OrgUnit, list[DomainEvent]]:
    if command["name"] == unit.name:
        raise Conflict(f"{unit.id!r} is already called {unit.name!r}", {"name": ["unchanged"]})
    errors: dict = {}
    not_future(errors, "renamed_on", command["renamed_on"], today)
    raise_if(errors, "the rename date is not possible")
    return replace(unit, name=command["name"]), [DomainEvent("org_unit_renamed", {
        "org_unit_id": unit.id, "old_name": unit.name, "name": command["name"],
        "renamed_on": command["renamed_on"]}, unit.id)]


def delete_org_unit(unit: OrgUnit, members: int, children: int, today: date,
                    party_orgs: int = 0) -> list[DomainEvent]:
    """Only an empty unit goes; members are never deleted, so their unit stays."""
    if party_orgs:
        raise Conflict(f"{unit.id!r} has {party_orgs} Party organisation(s) attached and cannot be deleted",
                       {"org_unit_id": ["has Party organisations"]})
    if members:
        raise Conflict(f"{unit.id!r} has {members} member(s) and cannot be deleted; transfer them first",
                       {"org_unit_id": ["has members"]})
    if children:
        raise Conflict(f"{unit.id!r} has {children} unit(s) under it and cannot be deleted",
                       {"org_unit_id": ["has children"]})
    return [DomainEvent("org_unit_deleted", {"org_unit_id": unit.id, "deleted_on": today}, unit.id)]


# -- the Party organisation tree ----------------------------------------------------

@dataclass(frozen=True)
class PartyOrg:
    id: str
    name: str
    kind: str
    parent_id: str | None
    org_unit_id: str


def create_party_org(org_id: str, command: dict, parent: PartyOrg | None, unit: OrgUnit | None) -> tuple[PartyOrg, list[DomainEvent]]:
    if command.get("parent_id") and parent is None:
        raise NotFound(f"Party organisation {command['parent_id']!r} does not exist",
                       {"parent_id": [f"unknown Party organisation {command['parent_id']!r}"]})
    if unit is None or unit.deleted:
        raise _unknown_unit("org_unit_id", command["org_unit_id"])
    kind = command["kind"]
    if parent is not None and PARTY_KINDS.index(parent.kind) >= PARTY_KINDS.index(kind):
        raise InvalidInput(f"a {kind} cannot sit under a {parent.kind}",
                           {"parent_id": [f"a {parent.kind} cannot be the parent of a {kind}"]})
    org = PartyOrg(org_id, command["name"], kind, command.get("parent_id"), unit.id)
    return org, [DomainEvent("party_org_created", {
        "party_org_id": org.id, "name": org.name, "kind": org.kind, "parent_id": org.parent_id,
        "org_unit_id": org.org_unit_id}, unit.id)]


def _check_branch(branch_id: str | None, branch: PartyOrg | None, field_name: str,
                  unit: OrgUnit | None = None) -> None:
    if branch_id is None:
        return
    if branch is None:
        raise NotFound(f"Party organisation {branch_id!r} does not exist",
                       {field_name: [f"unknown Party organisation {branch_id!r}"]})
    if branch.kind not in MEMBER_ORG_KINDS:
        raise InvalidInput(f"members belong to a branch, not a {branch.kind}",
                           {field_name: [f"{branch_id!r} is a {branch.kind}"]})
    if unit is not None and branch.org_unit_id not in unit.path:
        raise InvalidInput(f"{branch_id!r} is attached to {branch.org_unit_id!r}, not to {unit.id!r} or above it",
                           {field_name: [f"not a Party organisation of {unit.id!r}"]})


# -- members -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Transfer:
    id: str
    from_org_unit_id: str
    to_org_unit_id: str
    from_branch_id: str | None
    to_branch_id: str | None
    issued_on: date
    valid_until: date
    state: str = "issued"          # issued -> received | expired
    closed_on: date | None = None


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
    branch_id: str | None = None
    status: str = "active"
    status_since: date | None = None
    probation_ends_on: date | None = None
    probation_extended: bool = False
    id_number: str | None = None
    phone: str | None = None
    stage_history: tuple = ()       # ((stage, since), ...)
    status_history: tuple = ()      # ((status, since, reason), ...)
    transfers: tuple[Transfer, ...] = ()
    birthday_notified_year: int | None = None
    version: int = 0

    @property
    def is_member(self) -> bool:
        return self.status in MEMBER_STATUSES

    @property
    def last_change_on(self) -> date:
        dates = [self.stage_since] + [s for _, s, *_ in self.status_history]
        dates += [t.closed_on or t.issued_on for t in self.transfers]
        return max(dates)

    @property
    def open_transfer(self) -> Transfer | None:
        return next((t for t in self.transfers if t.state == "issued"), None)

    def transfer(self, transfer_id: str) -> Transfer | None:
        return next((t for t in self.transfers if t.id == transfer_id), None)


def register_member(member_id: str, command: dict, org_unit: OrgUnit | None, today: date,
                    branch: PartyOrg | None = None) -> tuple[Member, list[DomainEvent]]:
    """Register a member at a stage, checking the dates make sense together."""
    org_unit_id = command["org_unit_id"]
    if org_unit is None or org_unit.deleted:
        raise _unknown_unit("org_unit_id", org_unit_id)
    _check_branch(command.get("branch_id"), branch, "branch_id", org_unit)
    errors: dict[str, list[str]] = {}
    birth, stage, admitted = command["birth_date"], command["stage"], command.get("admitted_on")
    not_future(errors, "birth_date", birth, today)
    probation_ends = None
    if stage in ADMITTED:
        probation_ends = years_after(admitted, PROBATION_YEARS)
        since = command.get("stage_since") or (admitted if stage == "probationary" else probation_ends)
        not_future(errors, "admitted_on", admitted, today)
        if admitted < years_after(birth, MIN_AGE):
            errors.setdefault("admitted_on", []).append(f"is before the member turned {MIN_AGE}")
        if stage == "full" and since < probation_ends:
            errors.setdefault("stage_since", []).append(
                "a full member's stage begins at least one year of probation after admission")
        if stage == "full" and probation_ends > today:
            errors.setdefault("admitted_on", []).append(
                "less than a year ago: a full member has served one year of probation")
        if stage == "probationary" and since < admitted:
            errors.setdefault("stage_since", []).append("is before the admission date")
    else:
        since = command.get("stage_since") or today
        if admitted is not None:
            errors.setdefault("admitted_on", []).append(f"must be empty: a member at stage {stage} is not admitted yet")
        if since < years_after(birth, MIN_AGE):
            errors.setdefault("stage_since", []).append(f"is before the person turned {MIN_AGE}")
    not_future(errors, "stage_since", since, today)
    raise_if(errors, "the member's dates do not fit together")

    member = Member(
        id=member_id, name=command["name"], gender=command["gender"], birth_date=birth,
        org_unit_id=org_unit_id, branch_id=command.get("branch_id"), stage=stage, stage_since=since,
        admitted_on=admitted, status="active", status_since=since,
        probation_ends_on=probation_ends if stage == "probationary" else None,
        id_number=command.get("id_number"), phone=command.get("phone"),
        stage_history=((stage, since),),
    )
    return member, [DomainEvent("member_registered", {
        "member_id": member.id, "name": member.name, "gender": member.gender,
        "birth_date": member.birth_date, "org_unit_id": member.org_unit_id, "branch_id": member.branch_id,
        "stage": member.stage, "stage_since": member.stage_since, "admitted_on": member.admitted_on,
    }, org_unit_id)]


def _must_be_member(member: Member, action: str) -> None:
    if not member.is_member:
        raise Conflict(f"member {member.id!r} has left ({member.status}) and cannot {action}",
                       {"status": [f"is {member.status}"]})


def change_stage(member: Member, command: dict, today: date) -> tuple[Member, list[DomainEvent]]:
    """The pipeline, one stage at a time: applicant > activist > candidate > probationary > full."""
    _must_be_member(member, "change stage")
    stage, on = command["stage"], command["effective_on"]
    current = STAGES.index(member.stage)
    if member.stage == "full":
        raise Conflict(f"member {member.id!r} is a full member already", {"stage": ["no stage after full"]})
    expected = STAGES[current + 1]
    if stage != expected:
        raise Conflict(f"a {member.stage} moves to {expected}, not {stage}: no stage is skipped or undone",
                       {"stage": [f"must be {expected}"]})
    errors: dict = {}
    not_future(errors, "effective_on", on, today)
    if on < member.last_change_on:
        errors.setdefault("effective_on", []).append(
            f"is before the member's last recorded change ({member.last_change_on.isoformat()})")
    if stage == "candidate" and on < years_after(member.stage_since, ACTIVIST_YEARS):
        errors.setdefault("effective_on", []).append(
            f"an activist becomes a candidate after at least {ACTIVIST_YEARS} year "
            f"(activist since {member.stage_since.isoformat()})")
    if stage == "probationary" and on < years_after(member.birth_date, MIN_AGE):
        errors.setdefault("effective_on", []).append(f"is before the member turned {MIN_AGE}")
    if stage == "full" and member.probation_ends_on and on < member.probation_ends_on:
        errors.setdefault("effective_on", []).append(
            f"probation runs until {member.probation_ends_on.isoformat()}")
    raise_if(errors, "the stage change date is not possible")

    admitted = on if stage == "probationary" else member.admitted_on
    changed = replace(
        member, stage=stage, stage_since=on, admitted_on=admitted,
        probation_ends_on=years_after(on, PROBATION_YEARS) if stage == "probationary" else member.probation_ends_on,
        stage_history=member.stage_history + ((stage, on),),
    )
    return changed, [DomainEvent("member_stage_changed", {
        "member_id": member.id, "org_unit_id": member.org_unit_id, "from_stage": member.stage,
        "stage": stage, "effective_on": on, "admitted_on": admitted}, member.org_unit_id)]


def extend_probation(member: Member, command: dict, today: date) -> tuple[Member, list[DomainEvent]]:
    _must_be_member(member, "have probation extended")
    if member.stage != "probationary":
        raise Conflict(f"only a probationary member's probation can be extended; {member.id!r} is {member.stage}",
                       {"stage": [f"is {member.stage}"]})
    if member.probation_extended:
        raise Conflict("probation may be extended once only", {"months": ["already extended"]})
    decided = command["decided_on"]
    errors: dict = {}
    not_future(errors, "decided_on", decided, today)
    if decided < member.admitted_on:
        errors.setdefault("decided_on", []).append("is before the admission date")
    elif decided < member.last_change_on:
        errors.setdefault("decided_on", []).append(
            f"is before the member's last recorded change ({member.last_change_on.isoformat()})")
    if member.probation_ends_on and decided > member.probation_ends_on:
        errors.setdefault("decided_on", []).append(
            f"probation already ended on {member.probation_ends_on.isoformat()}")
    raise_if(errors, "the extension is not possible")
    ends = months_after(years_after(member.admitted_on, PROBATION_YEARS), command["months"])
    changed = replace(member, probation_extended=True, probation_ends_on=ends)
    return changed, [DomainEvent("member_probation_extended", {
        "member_id": member.id, "org_unit_id": member.org_unit_id, "months": command["months"],
        "decided_on": decided, "probation_ends_on": ends}, member.org_unit_id)]


def change_status(member: Member, command: dict, today: date) -> tuple[Member, list[DomainEvent]]:
    """Statuses beyond stage. A member is never deleted: leaving is a status."""
    status, on = command["status"], command["effective_on"]
    if member.status in LEFT_STATUSES:
        raise Conflict(f"member {member.id!r} has left ({member.status}); their record is closed",
                       {"status": [f"is {member.status}"]})
    if status == member.status:
        raise Conflict(f"member {member.id!r} is {status} already", {"status": ["unchanged"]})
    if status == "probation_cancelled" and member.stage != "probationary":
        raise Conflict("only a probationary member's probation can be cancelled",
                       {"status": [f"the member is {member.stage}"]})
    if status == "transferred_out" and member.open_transfer is not None:
        raise Conflict("the member has a transfer letter open; receive it or let it expire",
                       {"status": ["transfer open"]})
    errors: dict = {}
    not_future(errors, "effective_on", on, today)
    if on < member.last_change_on:
        errors.setdefault("effective_on", []).append(
            f"is before the member's last recorded change ({member.last_change_on.isoformat()})")
    raise_if(errors, "the status change date is not possible")
    changed = replace(member, status=status, status_since=on,
                      status_history=member.status_history + ((status, on, command["reason"]),))
    return changed, [DomainEvent("member_status_changed", {
        "member_id": member.id, "org_unit_id": member.org_unit_id, "from_status": member.status,
        "status": status, "effective_on": on, "reason": command["reason"]}, member.org_unit_id)]


def issue_transfer(member: Member, transfer_id: str, command: dict, to_unit: OrgUnit | None,
                   to_branch: PartyOrg | None, today: date) -> tuple[Member, list[DomainEvent]]:
    _must_be_member(member, "be transferred")
    if to_unit is None or to_unit.deleted:
        raise _unknown_unit("to_org_unit_id", command["to_org_unit_id"])
    _check_branch(command.get("to_branch_id"), to_branch, "to_branch_id", to_unit)
    if member.open_transfer is not None:
        raise Conflict(f"transfer {member.open_transfer.id!r} is still open for this member",
                       {"member_id": ["has an open transfer"]})
    if to_unit.id == member.org_unit_id and command.get("to_branch_id") == member.branch_id:
        raise Conflict("the member already belongs there", {"to_org_unit_id": ["is the member's own unit"]})
    issued = command["issued_on"]
    errors: dict = {}
    not_future(errors, "issued_on", issued, today)
    if issued < member.last_change_on:
        errors.setdefault("issued_on", []).append(
            f"is before the member's last recorded change ({member.last_change_on.isoformat()})")
    raise_if(errors, "the transfer date is not possible")
    transfer = Transfer(transfer_id, member.org_unit_id, to_unit.id, member.branch_id, command.get("to_branch_id"),
                        issued, issued + timedelta(days=command.get("valid_days") or 90))
    changed = replace(member, transfers=member.transfers + (transfer,))
    return changed, [DomainEvent("member_transfer_issued", {
        "transfer_id": transfer.id, "member_id": member.id, "from_org_unit_id": transfer.from_org_unit_id,
        "to_org_unit_id": transfer.to_org_unit_id, "from_branch_id": transfer.from_branch_id,
        "to_branch_id": transfer.to_branch_id, "issued_on": issued, "valid_until": transfer.valid_until,
    }, member.org_unit_id)]


def arrived_in_unit_on(member: Member) -> date:
    """Since when the member belongs to their current unit."""
    received = [t.closed_on for t in member.transfers
                if t.state == "received" and t.to_org_unit_id == member.org_unit_id]
    registered = (member.admitted_on or member.stage_history[0][1]) if member.stage_history else member.stage_since
    return max(received) if received else registered


def left_unit_on(member: Member, unit_id: str) -> date | None:
    """When the member stopped belonging to `unit_id` (left, or transferred away)."""
    if not member.is_member:
        return member.status_since
    received = [t.closed_on for t in member.transfers if t.state == "received" and t.from_org_unit_id == unit_id]
    return max(received) if received else None


def _close(member: Member, transfer: Transfer, state: str, on: date) -> tuple[Transfer, ...]:
    return tuple(replace(t, state=state, closed_on=on) if t.id == transfer.id else t for t in member.transfers)


def receive_transfer(member: Member, transfer_id: str, command: dict, today: date) -> tuple[Member, list[DomainEvent]]:
    transfer = member.transfer(transfer_id)
    if transfer is None:
        raise NotFound(f"transfer {transfer_id!r} does not exist")
    if transfer.state != "issued":
        raise Conflict(f"transfer {transfer_id!r} is {transfer.state} already", {"transfer": [transfer.state]})
    _must_be_member(member, "be received")
    received = command["received_on"]
    errors: dict = {}
    not_future(errors, "received_on", received, today)
    if received < transfer.issued_on:
        errors.setdefault("received_on", []).append("is before the letter was issued")
    if received > transfer.valid_until:
        errors.setdefault("received_on", []).append(
            f"is after the letter's validity ({transfer.valid_until.isoformat()})")
    if transfer.issued_on <= received < member.last_change_on:
        errors.setdefault("received_on", []).append(
            f"is before the member's last recorded change ({member.last_change_on.isoformat()})")
    raise_if(errors, "the receipt date is not possible")
    changed = replace(member, org_unit_id=transfer.to_org_unit_id, branch_id=transfer.to_branch_id,
                      transfers=_close(member, transfer, "received", received))
    return changed, [DomainEvent("member_transfer_completed", {
        "transfer_id": transfer.id, "member_id": member.id, "from_org_unit_id": transfer.from_org_unit_id,
        "to_org_unit_id": transfer.to_org_unit_id, "to_branch_id": transfer.to_branch_id,
        "received_on": received}, transfer.to_org_unit_id)]


def expire_transfer(member: Member, today: date) -> tuple[Member, list[DomainEvent]]:
    """A letter unreceived past its validity expires; the member stays put."""
    transfer = member.open_transfer
    if transfer is None or transfer.valid_until >= today:
        return member, []
    changed = replace(member, transfers=_close(member, transfer, "expired", transfer.valid_until))
    return changed, [DomainEvent("member_transfer_expired", {
        "transfer_id": transfer.id, "member_id": member.id, "from_org_unit_id": transfer.from_org_unit_id,
        "to_org_unit_id": transfer.to_org_unit_id, "valid_until": transfer.valid_until}, member.org_unit_id)]


def next_political_birthday(member: Member, today: date) -> date | None:
    """The coming anniversary of admission (today included), or None."""
    if not member.is_member or member.admitted_on is None or member.stage not in ADMITTED:
        return None
    years = max(today.year - member.admitted_on.year, 1)
    anniversary = years_after(member.admitted_on, years)
    if anniversary < today:
        anniversary = years_after(member.admitted_on, years + 1)
    return anniversary


def political_birthday_due(member: Member, today: date) -> tuple[Member, list[DomainEvent]]:
    """Once per member per year, when the anniversary is within 7 days."""
    anniversary = next_political_birthday(member, today)
    if anniversary is None or anniversary > today + timedelta(days=BIRTHDAY_NOTICE_DAYS):
        return member, []
    if member.birthday_notified_year == anniversary.year:
        return member, []
    changed = replace(member, birthday_notified_year=anniversary.year)
    return changed, [DomainEvent("political_birthday_due", {
        "member_id": member.id, "org_unit_id": member.org_unit_id, "admitted_on": member.admitted_on,
        "anniversary_on": anniversary, "years": anniversary.year - member.admitted_on.year}, member.org_unit_id)]


# -- household links (党员联户) --------------------------------------------------------

@dataclass(frozen=True)
class Link:
    id: str
    member_id: str
    linked_on: date
    unlinked_on: date | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Household:
    id: str
    org_unit_id: str
    address: str | None = None
    links: tuple[Link, ...] = field(default=())
    version: int = 0

    @property
    def current(self) -> Link | None:
        return next((l for l in self.links if l.unlinked_on is None), None)

    def link(self, link_id: str) -> Link | None:
        return next((l for l in self.links if l.id == link_id), None)


def link_household(household: Household | None, link_id: str, command: dict, member: Member | None,
                   today: date) -> tuple[Household, list[DomainEvent]]:
    """A household has one linked member at a time, from the member's own unit."""
    if member is None:
        raise NotFound(f"member {command['member_id']!r} does not exist",
                       {"member_id": [f"unknown member {command['member_id']!r}"]})
    _must_be_member(member, "look after households")
    if household is not None and household.current is not None:
        raise Conflict(f"household {household.id!r} is linked to member {household.current.member_id!r} already",
                       {"household_id": ["already linked; unlink it first"]})
    if household is not None and household.org_unit_id != member.org_unit_id:
        raise Conflict(f"household {household.id!r} is in {household.org_unit_id!r}, the member in {member.org_unit_id!r}",
                       {"member_id": ["belongs to another unit than the household"]})
    on = command.get("linked_on") or today
    errors: dict = {}
    not_future(errors, "linked_on", on, today)
    arrived = arrived_in_unit_on(member)
    if on < arrived:
        errors.setdefault("linked_on", []).append(
            f"is before the member belonged to {member.org_unit_id!r} ({arrived.isoformat()})")
    if household is not None and household.links and on < max(l.unlinked_on for l in household.links):
        errors.setdefault("linked_on", []).append("is before the household's previous link ended")
    raise_if(errors, "the link date is not possible")
    base = household or Household(command["household_id"], member.org_unit_id, command.get("address"))
    linked = replace(base, address=command.get("address") or base.address,
                     links=base.links + (Link(link_id, member.id, on),))
    return linked, [DomainEvent("household_linked", {
        "link_id": link_id, "member_id": member.id, "household_id": linked.id, "org_unit_id": linked.org_unit_id,
        "address": linked.address, "linked_on": on}, linked.org_unit_id)]


def unlink_household(household: Household, link_id: str, command: dict, today: date) -> tuple[Household, list[DomainEvent]]:
    link = household.link(link_id)
    if link is None:
        raise NotFound(f"household link {link_id!r} does not exist")
    if link.unlinked_on is not None:
        raise Conflict(f"link {link_id!r} ended on {link.unlinked_on.isoformat()} already", {"link": ["ended"]})
    on = command["unlinked_on"]
    errors: dict = {}
    not_future(errors, "unlinked_on", on, today)
    if on < link.linked_on:
        errors.setdefault("unlinked_on", []).append("is before the link began")
    raise_if(errors, "the unlink date is not possible")
    ended = replace(link, unlinked_on=on, reason=command.get("reason"))
    changed = replace(household, links=tuple(ended if l.id == link_id else l for l in household.links))
    return changed, [DomainEvent("household_unlinked", {
        "link_id": link_id, "member_id": link.member_id, "household_id": household.id,
        "org_unit_id": household.org_unit_id, "unlinked_on": on, "reason": command.get("reason")},
        household.org_unit_id)]
