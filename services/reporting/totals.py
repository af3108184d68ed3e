"""Running deed totals per unit and day: the summary's deed figures without
walking the deeds.

The deeds are by far the most numerous facts (one a week per member), so a
summary that listed every deed in its subtree and period cost time in
proportion to them: ~30 ms for the street's 23,561 deeds of 2018, ~0.3 s at a
million. Here each unit keeps, per day, how many counted deeds were done and
their points, so a summary adds up at most one entry per day.

Distinct members with a deed are counted with bitmaps: each unit gives its
members a slot (a bit position) on their first deed there, and keeps per day
a Python int with the bits of the members who did a deed that day. The
members of a period are the OR of its days' ints, counted with
`int.bit_count`: a quarter of a 600-member community is 90 ORs of 75-byte
ints, where a set union of its member ids was 7,000 hashed inserts at a
million deeds (the summaries' p99 at that scale). A member with deeds in
more than one unit (moved house or transferred) would be counted once per
unit, so such "movers" are marked in every unit they have a slot in and
are collected by id instead. Disputed deeds are not counted (as in
`ReportModel.deeds_between`).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date


@dataclass
class _UnitDeeds:
    days: list = field(default_factory=list)           # sorted days with at least one deed
    count_on: dict = field(default_factory=dict)       # day -> deeds
    points_on: dict = field(default_factory=dict)      # day -> points
    members_on: dict = field(default_factory=dict)     # day -> member ids (one per deed)
    bits_on: dict = field(default_factory=dict)        # day -> int, bit s set: slot s's member did one
    slot: dict = field(default_factory=dict)           # member id -> slot (bit position) here
    members: list = field(default_factory=list)        # slot -> member id
    deeds_of: dict = field(default_factory=dict)       # member id -> counted deeds here
    present_bits: int = 0                              # members with a counted deed here, any day
    mover_bits: int = 0                                # members with a slot in another unit too


class DeedTotals:
    def __init__(self) -> None:
        self._units: dict[str, _UnitDeeds] = {}
        self._homes: dict[str, list[str]] = {}          # member id -> units where it has a slot

    def add(self, unit_id: str, member_id: str, day: date, points: int) -> None:
        unit = self._units.get(unit_id)
        if unit is None:
            unit = self._units[unit_id] = _UnitDeeds()
        if day not in unit.count_on:
            bisect.insort(unit.days, day)
            unit.count_on[day] = 0
            unit.points_on[day] = 0
            unit.members_on[day] = []
            unit.bits_on[day] = 0
        bit = 1 << self._slot(unit_id, unit, member_id)
        unit.count_on[day] += 1
        unit.points_on[day] += points
        unit.members_on[day].append(member_id)
        unit.bits_on[day] |= bit
        unit.deeds_of[member_id] = unit.deeds_of.get(member_id, 0) + 1
        unit.present_bits |= bit

    def _slot(self, unit_id: str, unit: _UnitDeeds, member_id: str) -> int:
        slot = unit.slot.get(member_id)
        if slot is None:
            slot = unit.slot[member_id] = len(unit.members)
            unit.members.append(member_id)
            homes = self._homes.setdefault(member_id, [])
            homes.append(unit_id)
            if len(homes) > 1:                  # now in two units or more: a mover in each of them
                for home in homes:
                    other = self._units[home]
                    other.mover_bits |= 1 << other.slot[member_id]
        return slot

    def remove(self, unit_id: str, member_id: str, day: date, points: int) -> None:
        unit = self._units[unit_id]
        bit = 1 << unit.slot[member_id]
        unit.count_on[day] -= 1
        unit.points_on[day] -= points
        members = unit.members_on[day]
        members.remove(member_id)
        if member_id not in members:
            unit.bits_on[day] &= ~bit
        if not unit.count_on[day]:
            del unit.count_on[day], unit.points_on[day], unit.members_on[day], unit.bits_on[day]
            del unit.days[bisect.bisect_left(unit.days, day)]
        unit.deeds_of[member_id] -= 1
        if not unit.deeds_of[member_id]:
            del unit.deeds_of[member_id]
            unit.present_bits &= ~bit

    def figures(self, units, start: date, end: date) -> dict:
        """{"total", "members_with_deeds", "points"} for the units over [start, end]."""
        total = points = settled = 0
        movers: set = set()
        for unit_id in dict.fromkeys(units):
            unit = self._units.get(unit_id)
            if unit is None:
                continue
            lo, hi = bisect.bisect_left(unit.days, start), bisect.bisect_right(unit.days, end)
            if lo == hi:
                continue
            days = unit.days[lo:hi]
            total += sum(unit.count_on[d] for d in days)
            points += sum(unit.points_on[d] for d in days)
            if lo == 0 and hi == len(unit.days):
                bits = unit.present_bits                # the period holds every deed of the unit
            else:
                bits = 0
                for d in days:
                    bits |= unit.bits_on[d]
            moved = bits & unit.mover_bits
            settled += (bits ^ moved).bit_count()       # members only ever here: counted here only
            while moved:                                # the rare movers, by id
                low = moved & -moved
                movers.add(unit.members[low.bit_length() - 1])
                moved ^= low
        return {"total": total, "members_with_deeds": settled + len(movers), "points": points}
