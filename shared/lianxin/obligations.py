"""三会一课 and the other obligations: which kinds are due how often, their
calendar periods, and what was held in each. Pure; shared by activities (which
enforces and announces them) and reporting (which reports compliance).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

# Defaults of 三会一课 and the rest (DESIGN.md); configurable per kind and organisation.
DEFAULT_FREQUENCIES = {
    "theme_day": "monthly", "members_meeting": "quarterly", "committee_meeting": "monthly",
    "group_meeting": "monthly", "party_lesson": "quarterly", "org_life_meeting": "yearly",
    "member_appraisal": "yearly",
}
# Party organisations whose unit owes the obligations.
OBLIGED_ORG_KINDS = ("committee", "general_branch", "branch")


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date


def period_of(day: date, frequency: str) -> Period:
    # Ends by the month's last day, never by "the next period's start - 1": in
    # December 9999 there is no next period (a query up to 9999-12-31 was a 500).
    if frequency == "monthly":
        start = day.replace(day=1)
        end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        return Period(f"{day.year}-{day.month:02d}", start, end)
    if frequency == "quarterly":
        q = (day.month - 1) // 3
        start = date(day.year, 3 * q + 1, 1)
        end = date(day.year, 3 * q + 3, calendar.monthrange(day.year, 3 * q + 3)[1])
        return Period(f"{day.year}-Q{q + 1}", start, end)
    if frequency == "yearly":
        return Period(str(day.year), date(day.year, 1, 1), date(day.year, 12, 31))
    raise ValueError(f"unknown frequency {frequency!r}")


def periods_between(start: date, end: date, frequency: str) -> list[Period]:
    """Every period of `frequency` that overlaps [start, end]."""
    out, day = [], start
    while day <= end:
        period = period_of(day, frequency)
        out.append(period)
        if period.end >= end:       # also where the calendar ends (date.max has no next day)
            break
        day = period.end + timedelta(days=1)
    return out


def horizon(today: date) -> date:
    """The last day compliance is worked out to: the end of next year. Nothing
    can have been held later, and a far `to` (9999-12-31) would otherwise list
    every period up to it: hundreds of thousands of rows per unit, seconds of
    CPU and a response of megabytes for one GET."""
    return date(today.year + 1, 12, 31)


def frequencies_for(unit_id: str, rules: dict) -> dict[str, str]:
    """kind -> frequency for a unit: its own rules over the defaults; None drops a kind.
    rules: {(org_unit_id or None, kind): frequency or None}."""
    merged = dict(DEFAULT_FREQUENCIES)
    for (rule_unit, kind), frequency in sorted(rules.items(), key=lambda kv: kv[0][0] is not None):
        if rule_unit is None or rule_unit == unit_id:
            merged[kind] = frequency
    return {k: v for k, v in merged.items() if v}


@dataclass(frozen=True)
class Compliance:
    org_unit_id: str
    kind: str
    period: Period
    held: int

    @property
    def missed(self) -> bool:
        return self.held == 0


def compliance(unit_id: str, frequencies: dict[str, str], held_dates: dict[str, list[date]],
               start: date, end: date) -> list[Compliance]:
    """What was due, held and missed for one unit over the periods overlapping [start, end]."""
    out = []
    for kind, frequency in sorted(frequencies.items()):
        days = held_dates.get(kind, [])
        for period in periods_between(start, end, frequency):
            out.append(Compliance(unit_id, kind, period, sum(period.start <= d <= period.end for d in days)))
    return out


def obliged_units(view, unit_ids) -> list[str]:
    """The units whose Party organisation owes 三会一课 (committee, general branch,
    branch); `view` is a lianxin.membership_view.MembershipView."""
    return [u for u in unit_ids if any(org.kind in OBLIGED_ORG_KINDS for org in view.party_orgs_of(u))]
