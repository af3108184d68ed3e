"""The membership projection: the units tree, members, household links and
Party organisations, in plain Python (no nameko, no database).

Any service that needs to know, for a business day, which unit a member
belongs to, their stage, whether they count as a member, the units tree or
which Party organisations a unit has, keeps a `MembershipView` and applies
membership's events to it (`MembershipView.EVENT_TYPES`; others are ignored).

It is a pure function of the set of events applied to it, whatever their
order: each fact is kept per entity (a unit, a member, a household link) and
answers are derived from the facts at query time, so late and out-of-order
events land where their business dates say, and a rebuild from an event
store gives exactly the live answers.

Business-time rules (API.md "Reporting"), for a day D:

Members
- A member is counted on D (`MemberFacts.counted_on`) when
  1. they are registered and have started: the registration's `admitted_on`,
     or its `stage_since` if not admitted, is on or before D. Later stage
     changes never move this start date (a candidate registered in 2017 and
     made probationary in 2018 counts from 2017, as a candidate first);
  2. they have not left by D: the status in force on D (the latest
     `member_status_changed` with `effective_on` <= D, else active) is active
     or flowing. transferred_out, deceased, expelled and probation_cancelled
     mean they left on `effective_on` (not counted on or after it); a later
     change back to active counts them again from its date.
- The stage on D (`MemberFacts.stage_on`): the latest of the registration
  (dated `stage_since`) and the `member_stage_changed` events dated on or
  before D. Before `stage_since`, a member registered as full who was already
  admitted is probationary (probation runs from admission to full membership);
  otherwise the registered stage.
- The unit on D (`MemberFacts.unit_on`): the `to_org_unit_id` of the latest
  `member_transfer_completed` received on or before D; before the first one,
  its `from_org_unit_id`; without transfers, the registration's unit. Issued
  and expired transfer letters change nothing.
- A stage, status or transfer fact without a registration counts nothing
  until the registration arrives.

Household links
- A link counts on D, in the `org_unit_id` of its `household_linked` event, if
  `linked_on` <= D and it is not unlinked or `unlinked_on` > D. A household
  relinked to another member is another link.

The tree
- Subtrees and ancestors use the current tree: a unit's parent is the
  `to_parent_id` of its latest move (by `moved_on`), else its parent at
  creation, whatever the day asked about. A deleted unit is gone: it cannot
  be asked for, and nothing under it or placed in it is counted in its
  ancestors.
- A unit known only as the parent of another unit is known.

Party organisations are attached to the unit named by their latest creation.

Ties and repeats: facts on the same business date are ordered by the event's
`occurred_at` then `event_id`, and of two versions of the same fact (two
registrations of one member, two creations of one unit) the later one by that
order wins, so the result never depends on arrival order. Applying the very
same event (same `event_id`) again changes nothing.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from lianxin.catalog.membership import LEFT_STATUSES, STAGES
from lianxin.envelope import Event
from lianxin.errors import InvalidInput, NotFound
from lianxin.fields import parse_aware_datetime

# (occurred_at, event_id): orders facts on the same business date, and versions of one fact.
Stamp = tuple[datetime, str]
NO_STAMP: Stamp = (datetime(1970, 1, 1, tzinfo=timezone.utc), "")


def _insert(timeline: list, entry) -> None:
    """Keep `timeline` in (on, stamp) order; the same event applied again is a no-op."""
    key = (entry.on, entry.stamp)
    i = bisect_left(timeline, key, key=_key)
    if i < len(timeline) and _key(timeline[i]) == key:
        return
    timeline.insert(i, entry)


def _key(entry) -> tuple:
    return entry.on, entry.stamp


def _in_force(timeline: list, day: date):
    """The latest entry dated on or before `day`, or None."""
    i = bisect_right(timeline, day, key=lambda e: e.on)
    return timeline[i - 1] if i else None


def _newer(current, candidate) -> bool:
    return current is None or candidate.stamp > current.stamp


# -- the administrative tree ---------------------------------------------------------

@dataclass(frozen=True)
class UnitCreated:
    stamp: Stamp
    name: str
    level: str
    parent_id: str | None


@dataclass(frozen=True)
class UnitRenamed:
    on: date
    stamp: Stamp
    old_name: str
    name: str


@dataclass(frozen=True)
class UnitMoved:
    on: date
    stamp: Stamp
    from_parent_id: str | None
    to_parent_id: str


@dataclass
class Unit:
    id: str
    created: UnitCreated | None = None
    renames: list[UnitRenamed] = field(default_factory=list)
    moves: list[UnitMoved] = field(default_factory=list)
    deleted: bool = False
    indexed_parent_id: str | None = None   # where MembershipView.children has it now

    @property
    def name(self) -> str | None:
        if self.renames:
            return self.renames[-1].name
        return self.created.name if self.created else None

    @property
    def level(self) -> str | None:
        return self.created.level if self.created else None

    @property
    def parent_id(self) -> str | None:
        if self.moves:
            return self.moves[-1].to_parent_id
        return self.created.parent_id if self.created else None


@dataclass(frozen=True)
class PartyOrg:
    id: str
    kind: str
    name: str
    parent_id: str | None
    org_unit_id: str
    stamp: Stamp = NO_STAMP


# -- members ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Registration:
    stamp: Stamp
    name: str
    org_unit_id: str
    branch_id: str | None
    stage: str
    stage_since: date
    admitted_on: date | None

    @property
    def start(self) -> date:
        return self.admitted_on or self.stage_since


@dataclass(frozen=True)
class StageChange:
    on: date
    stamp: Stamp
    from_stage: str
    stage: str
    admitted_on: date | None


@dataclass(frozen=True)
class StatusChange:
    on: date
    stamp: Stamp
    from_status: str
    status: str
    reason: str


@dataclass(frozen=True)
class TransferReceived:
    on: date
    stamp: Stamp
    transfer_id: str
    from_org_unit_id: str
    to_org_unit_id: str
    to_branch_id: str | None


@dataclass(frozen=True)
class TransferLetter:
    """An issued or expired letter: recorded, never counted."""
    on: date            # issued_on, or valid_until for an expiry
    stamp: Stamp
    transfer_id: str
    state: str          # issued | expired
    from_org_unit_id: str
    to_org_unit_id: str


@dataclass(frozen=True)
class ProbationExtended:
    on: date            # decided_on
    stamp: Stamp
    months: int
    probation_ends_on: date


@dataclass
class MemberFacts:
    id: str
    registration: Registration | None = None
    stages: list[StageChange] = field(default_factory=list)
    statuses: list[StatusChange] = field(default_factory=list)
    transfers: list[TransferReceived] = field(default_factory=list)
    letters: list[TransferLetter] = field(default_factory=list)
    extensions: list[ProbationExtended] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        return self.registration.name if self.registration else None

    @property
    def started_on(self) -> date | None:
        return self.registration.start if self.registration else None

    @property
    def admitted_on(self) -> date | None:
        """The latest known admission date (becoming probationary sets it)."""
        admitted = [s.admitted_on for s in self.stages if s.admitted_on]
        if admitted:
            return admitted[-1]
        return self.registration.admitted_on if self.registration else None

    def units_ever(self) -> set[str]:
        units = {self.registration.org_unit_id} if self.registration else set()
        for t in self.transfers:
            units.update((t.from_org_unit_id, t.to_org_unit_id))
        return units

    def unit_on(self, day: date) -> str | None:
        received = _in_force(self.transfers, day)
        if received is not None:
            return received.to_org_unit_id
        if self.transfers:
            return self.transfers[0].from_org_unit_id
        return self.registration.org_unit_id if self.registration else None

    def status_on(self, day: date) -> str:
        change = _in_force(self.statuses, day)
        return change.status if change else "active"

    def stage_on(self, day: date) -> str:
        reg = self.registration
        change = _in_force(self.stages, day)
        # The registration is a stage entry dated stage_since; a change on that
        # same date is the later fact.
        if change is not None and (reg is None or change.on >= reg.stage_since or day < reg.stage_since):
            return change.stage
        if reg is None:
            return STAGES[0]
        if day < reg.stage_since and reg.stage == "full" and reg.admitted_on and reg.admitted_on <= day:
            return "probationary"
        return reg.stage

    def counted_on(self, day: date) -> bool:
        start = self.started_on
        return start is not None and start <= day and self.status_on(day) not in LEFT_STATUSES


# -- household links -------------------------------------------------------------------

@dataclass(frozen=True)
class Linked:
    stamp: Stamp
    member_id: str
    household_id: str
    org_unit_id: str
    address: str | None
    linked_on: date


@dataclass(frozen=True)
class Unlinked:
    stamp: Stamp
    member_id: str
    household_id: str
    org_unit_id: str
    unlinked_on: date
    reason: str | None


@dataclass
class LinkFacts:
    id: str
    linked: Linked | None = None
    unlinked: Unlinked | None = None

    @property
    def org_unit_id(self) -> str | None:
        return self.linked.org_unit_id if self.linked else None

    def counted_on(self, day: date) -> bool:
        return (self.linked is not None and self.linked.linked_on <= day
                and (self.unlinked is None or self.unlinked.unlinked_on > day))


# -- the view --------------------------------------------------------------------------

class MembershipView:
    """Membership's facts, from its events, answered for any business day."""

    # Every event membership publishes. political_birthday_due is consumed
    # but changes nothing.
    EVENT_TYPES: tuple[str, ...] = (
        "org_unit_created", "org_unit_moved", "org_unit_renamed", "org_unit_deleted",
        "party_org_created",
        "member_registered", "member_stage_changed", "member_probation_extended", "member_status_changed",
        "member_transfer_issued", "member_transfer_completed", "member_transfer_expired",
        "household_linked", "household_unlinked",
        "political_birthday_due",
    )
    _EVENT_TYPE_SET = frozenset(EVENT_TYPES)

    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}
        self.children: dict[str, set] = {}                                  # the current tree
        self.party_orgs: dict[str, PartyOrg] = {}
        self.party_orgs_by_unit: dict[str, set] = defaultdict(set)
        self.members: dict[str, MemberFacts] = {}
        self.members_by_unit: dict[str, set] = defaultdict(set)             # everyone ever placed there
        self.links: dict[str, LinkFacts] = {}
        self.links_by_unit: dict[str, set] = defaultdict(set)
        self.links_by_household: dict[str, set] = defaultdict(set)
        self._stamp: Stamp = NO_STAMP

    # -- applying events ----------------------------------------------------------
    def apply(self, events: Iterable[Event]) -> None:
        """Apply membership's events, in any order; other event types are ignored.

        An event that breaks the projection raises and leaves no half-applied
        facts (each handler reads every field it needs before changing
        anything); the events before it stay applied.
        """
        for event in events:
            if event.event_type not in self._EVENT_TYPE_SET:
                continue
            handler = getattr(self, f"_on_{event.event_type}")
            self._stamp = (parse_aware_datetime(event.envelope["occurred_at"]), event.event_id)
            try:
                handler(event.data)
            finally:
                self._stamp = NO_STAMP

    # the tree
    def _unit(self, unit_id: str) -> Unit:
        unit = self.units.get(unit_id)
        if unit is None:
            unit = self.units[unit_id] = Unit(unit_id)
        return unit

    def _reindex_parent(self, unit: Unit) -> None:
        new, old = unit.parent_id, unit.indexed_parent_id
        if new == old:
            return
        if old is not None:
            siblings = self.children.get(old)
            if siblings is not None:
                siblings.discard(unit.id)
                if not siblings:
                    del self.children[old]
        if new is not None:
            self.children.setdefault(new, set()).add(unit.id)
        unit.indexed_parent_id = new

    def _on_org_unit_created(self, data: dict) -> None:
        created = UnitCreated(self._stamp, data["name"], data["level"], data.get("parent_id"))
        unit = self._unit(data["org_unit_id"])
        if _newer(unit.created, created):
            unit.created = created
        self._reindex_parent(unit)

    def _on_org_unit_moved(self, data: dict) -> None:
        moved = UnitMoved(data["moved_on"], self._stamp, data.get("from_parent_id"), data["to_parent_id"])
        unit = self._unit(data["org_unit_id"])
        _insert(unit.moves, moved)
        self._reindex_parent(unit)

    def _on_org_unit_renamed(self, data: dict) -> None:
        renamed = UnitRenamed(data["renamed_on"], self._stamp, data["old_name"], data["name"])
        _insert(self._unit(data["org_unit_id"]).renames, renamed)

    def _on_org_unit_deleted(self, data: dict) -> None:
        self._unit(data["org_unit_id"]).deleted = True

    def _on_party_org_created(self, data: dict) -> None:
        org = PartyOrg(data["party_org_id"], data["kind"], data["name"], data.get("parent_id"),
                       data["org_unit_id"], self._stamp)
        current = self.party_orgs.get(org.id)
        if not _newer(current, org):
            return
        if current is not None and current.org_unit_id != org.org_unit_id:
            attached = self.party_orgs_by_unit.get(current.org_unit_id)
            if attached is not None:
                attached.discard(org.id)
                if not attached:
                    del self.party_orgs_by_unit[current.org_unit_id]
        self.party_orgs[org.id] = org
        self.party_orgs_by_unit[org.org_unit_id].add(org.id)

    # members
    def _member(self, member_id: str) -> MemberFacts:
        facts = self.members.get(member_id)
        if facts is None:
            facts = self.members[member_id] = MemberFacts(member_id)
        return facts

    def _index_member(self, facts: MemberFacts) -> None:
        for unit_id in facts.units_ever():
            self.members_by_unit[unit_id].add(facts.id)

    def _on_member_registered(self, data: dict) -> None:
        registration = Registration(self._stamp, data["name"], data["org_unit_id"], data.get("branch_id"),
                                    data["stage"], data["stage_since"], data.get("admitted_on"))
        facts = self._member(data["member_id"])
        if _newer(facts.registration, registration):
            facts.registration = registration
        self._index_member(facts)

    def _on_member_stage_changed(self, data: dict) -> None:
        change = StageChange(data["effective_on"], self._stamp, data["from_stage"], data["stage"],
                             data.get("admitted_on"))
        _insert(self._member(data["member_id"]).stages, change)

    def _on_member_status_changed(self, data: dict) -> None:
        change = StatusChange(data["effective_on"], self._stamp, data["from_status"], data["status"],
                              data["reason"])
        _insert(self._member(data["member_id"]).statuses, change)

    def _on_member_transfer_completed(self, data: dict) -> None:
        received = TransferReceived(data["received_on"], self._stamp, data["transfer_id"],
                                    data["from_org_unit_id"], data["to_org_unit_id"], data.get("to_branch_id"))
        facts = self._member(data["member_id"])
        _insert(facts.transfers, received)
        self._index_member(facts)

    def _on_member_transfer_issued(self, data: dict) -> None:
        letter = TransferLetter(data["issued_on"], self._stamp, data["transfer_id"], "issued",
                                data["from_org_unit_id"], data["to_org_unit_id"])
        _insert(self._member(data["member_id"]).letters, letter)

    def _on_member_transfer_expired(self, data: dict) -> None:
        letter = TransferLetter(data["valid_until"], self._stamp, data["transfer_id"], "expired",
                                data["from_org_unit_id"], data["to_org_unit_id"])
        _insert(self._member(data["member_id"]).letters, letter)

    def _on_member_probation_extended(self, data: dict) -> None:
        extension = ProbationExtended(data["decided_on"], self._stamp, data["months"], data["probation_ends_on"])
        _insert(self._member(data["member_id"]).extensions, extension)

    def _on_political_birthday_due(self, data: dict) -> None:
        """A reminder: it changes no fact."""

    # household links
    def _link(self, link_id: str) -> LinkFacts:
        facts = self.links.get(link_id)
        if facts is None:
            facts = self.links[link_id] = LinkFacts(link_id)
        return facts

    def _on_household_linked(self, data: dict) -> None:
        linked = Linked(self._stamp, data["member_id"], data["household_id"], data["org_unit_id"],
                        data.get("address"), data["linked_on"])
        facts = self._link(data["link_id"])
        if _newer(facts.linked, linked):
            facts.linked = linked
        self.links_by_unit[linked.org_unit_id].add(facts.id)
        self.links_by_household[linked.household_id].add(facts.id)

    def _on_household_unlinked(self, data: dict) -> None:
        unlinked = Unlinked(self._stamp, data["member_id"], data["household_id"], data["org_unit_id"],
                            data["unlinked_on"], data.get("reason"))
        facts = self._link(data["link_id"])
        if _newer(facts.unlinked, unlinked):
            facts.unlinked = unlinked
        self.links_by_household[unlinked.household_id].add(facts.id)

    # -- the tree -----------------------------------------------------------------------
    def _is_deleted(self, unit_id: str) -> bool:
        unit = self.units.get(unit_id)
        return unit is not None and unit.deleted

    def is_known(self, unit_id: str) -> bool:
        """Created, moved or the parent of a unit, and not deleted."""
        if self._is_deleted(unit_id):
            return False
        unit = self.units.get(unit_id)
        return (unit is not None and (unit.created is not None or bool(unit.moves))) or bool(self.children.get(unit_id))

    def household_member_on(self, household_id: str, day: date) -> str | None:
        """The member looking after the household on that day, if any."""
        for link_id in self.links_by_household.get(household_id, ()):
            link = self.links[link_id]
            if link.counted_on(day):
                return link.linked.member_id
        return None

    def known_units(self) -> list[str]:
        """Every unit that exists now (created or referenced, not deleted)."""
        return sorted(uid for uid in set(self.units) | set(self.children) if self.is_known(uid))

    def _known(self, unit_id: str) -> None:
        if not self.is_known(unit_id):
            raise NotFound(f"org unit {unit_id!r} is unknown",
                           {"org_unit_id": [f"unknown org unit {unit_id!r}"]})

    def subtree(self, unit_id: str) -> list[str]:
        """The unit and everything under it now (children may arrive before parents).

        Raises NotFound for an unknown or deleted unit.
        """
        self._known(unit_id)
        out, seen, stack = [], {unit_id}, [unit_id]
        while stack:
            current = stack.pop()
            out.append(current)
            # A deleted unit stays in its parent's subtree: it had no members
            # when deleted, so it adds only the history from before.
            for child in sorted(self.children.get(current, ()), reverse=True):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return out

    def ancestors(self, unit_id: str) -> list[str]:
        """The units above `unit_id` in the current tree, root first (not the unit itself).

        Raises NotFound for an unknown or deleted unit.
        """
        self._known(unit_id)
        chain, seen = [], {unit_id}
        unit = self.units.get(unit_id)
        parent_id = unit.parent_id if unit else None
        while parent_id is not None and parent_id not in seen:   # seen: inconsistent moves cannot loop
            seen.add(parent_id)
            chain.append(parent_id)
            parent = self.units.get(parent_id)
            parent_id = parent.parent_id if parent else None
        chain.reverse()
        return chain

    def root(self) -> str:
        """The one top unit (a unit with no parent), for queries that name none."""
        roots = sorted(uid for uid, unit in self.units.items() if self.is_known(uid) and unit.parent_id is None)
        if len(roots) != 1:
            raise InvalidInput("name the org unit: " + ("nothing is recorded yet" if not roots
                                                        else f"there are {len(roots)} top units"),
                               {"org_unit_id": ["required here"]})
        return roots[0]

    def unit_name(self, unit_id: str) -> str | None:
        """The current name (deleted units keep theirs); None if never created nor renamed."""
        unit = self.units.get(unit_id)
        return unit.name if unit else None

    def unit_level(self, unit_id: str) -> str | None:
        """district, street, zone, community or grid; None if its creation is not known."""
        unit = self.units.get(unit_id)
        return unit.level if unit else None

    def party_orgs_of(self, unit_id: str) -> list[PartyOrg]:
        """The Party organisations attached to the unit, by id."""
        return [self.party_orgs[oid] for oid in sorted(self.party_orgs_by_unit.get(unit_id, ()))]

    # -- members and links ----------------------------------------------------------------
    def member(self, member_id: str) -> MemberFacts | None:
        """What is known of a member, or None if nothing is.

        Facts that arrived before the registration are kept but count nowhere
        (`unit_on` is None, `counted_on` is False) until it arrives.
        """
        return self.members.get(member_id)

    def _members_on(self, unit_ids: Iterable[str], day: date):
        """The facts of everyone counted on `day` whose unit on `day` is one of the units."""
        for uid in dict.fromkeys(unit_ids):
            # The index holds everyone ever placed in a unit: keep those there on `day`.
            for mid in self.members_by_unit.get(uid, ()):
                facts = self.members[mid]
                if facts.unit_on(day) == uid and facts.counted_on(day):
                    yield facts

    def members_on(self, unit_ids: Iterable[str], day: date) -> list[str]:
        """The ids of the members counted on `day` whose unit on `day` is one of `unit_ids`, sorted."""
        return sorted(facts.id for facts in self._members_on(unit_ids, day))

    def count_members(self, unit_ids: Iterable[str], day: date) -> dict[str, int]:
        """Members counted on `day` in the units, by their stage on `day` (every stage, zeros too)."""
        by_stage = dict.fromkeys(STAGES, 0)
        for facts in self._members_on(unit_ids, day):
            by_stage[facts.stage_on(day)] += 1
        return by_stage

    def count_links(self, unit_ids: Iterable[str], day: date) -> int:
        """Household links counted on `day` in the units."""
        count = 0
        for uid in dict.fromkeys(unit_ids):
            for lid in self.links_by_unit.get(uid, ()):
                link = self.links[lid]
                if link.org_unit_id == uid and link.counted_on(day):
                    count += 1
        return count

