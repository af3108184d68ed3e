"""The reporting read model, in plain Python.

It is a pure function of the set of events applied to it, whatever their
order. Membership's facts (the units tree, members, household links, Party
organisations) are kept by a `lianxin.membership_view.MembershipView`, shared
with the other services that need them; its docstring states the
business-time rules (when a member counts, their stage and unit on a day, when
a household link counts, the current tree, ties and repeats).

Reporting's own rule (API.md "Reporting"): stock figures (members, household
links) are counted on one day D, the period's end (`to`), over the subtree of
the unit asked for, in the current tree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from lianxin.catalog.membership import ADMITTED_STAGES
from lianxin.envelope import Event
from lianxin.errors import NotFound
from lianxin.fields import parse_aware_datetime
from lianxin.membership_view import LinkFacts, MemberFacts, MembershipView, PartyOrg, Unit


@dataclass
class ReportModel:
    membership: MembershipView = field(default_factory=MembershipView)
    applied: int = 0
    last_occurred_at: datetime | None = None

    # Membership's facts, as the view keeps them.
    @property
    def units(self) -> dict[str, Unit]:
        return self.membership.units

    @property
    def children(self) -> dict[str, set]:
        return self.membership.children

    @property
    def party_orgs(self) -> dict[str, PartyOrg]:
        return self.membership.party_orgs

    @property
    def members(self) -> dict[str, MemberFacts]:
        return self.membership.members

    @property
    def members_by_unit(self) -> dict[str, set]:
        return self.membership.members_by_unit

    @property
    def links(self) -> dict[str, LinkFacts]:
        return self.membership.links

    @property
    def links_by_unit(self) -> dict[str, set]:
        return self.membership.links_by_unit

    @property
    def links_by_household(self) -> dict[str, set]:
        return self.membership.links_by_household

    # -- applying events ----------------------------------------------------------
    def apply(self, events: list[Event]) -> None:
        """Apply events one by one; an event that breaks the projection raises,
        uncounted and with nothing half-applied, and those before it stay."""
        for event in events:
            occurred = parse_aware_datetime(event.envelope["occurred_at"])
            self.membership.apply((event,))     # it takes membership's events and ignores the rest
            self.applied += 1
            if self.last_occurred_at is None or occurred > self.last_occurred_at:
                self.last_occurred_at = occurred

    # -- queries ------------------------------------------------------------------------
    def subtree(self, unit_id: str) -> list[str]:
        """The unit and everything under it now; NotFound if unknown or deleted."""
        if not self.membership.is_known(unit_id):
            raise NotFound(f"org unit {unit_id!r} is unknown to reporting",
                           {"org_unit_id": [f"unknown org unit {unit_id!r}"]})
        return self.membership.subtree(unit_id)

    def root(self) -> str:
        """The one top unit (a unit with no parent), for queries that name none."""
        return self.membership.root()

    def summary(self, unit_id: str | None, start: date, end: date) -> dict:
        unit_id = unit_id or self.root()
        units = self.subtree(unit_id)
        by_stage = self.membership.count_members(units, end)
        return {
            "org_unit_id": unit_id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            # total: everyone registered and not gone on `to`, whatever the stage
            # (API.md); party_members: the admitted ones (预备党员 and 正式党员).
            "members": {"total": sum(by_stage.values()),
                        "party_members": sum(by_stage[s] for s in ADMITTED_STAGES), "by_stage": by_stage},
            "household_links": self.membership.count_links(units, end),
            "deeds": {"total": 0, "members_with_deeds": 0},
            "activities": {"by_kind": {}},
            "lecture_series": [],
            "inspections": {"rounds": 0, "units_inspected": 0, "assessments": 0,
                            "findings": 0, "rectified": 0, "overdue": 0},
            "honours": {"collective": 0, "individual": 0, "by_category": {}},
            "cases": {"difficult_matters_solved": 0, "disputes_mediated": 0},
        }
