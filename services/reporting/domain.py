"""The reporting read model, in plain Python.

It is a pure function of the set of events applied to it, whatever their
order. Membership's facts (the units tree, members, household links, Party
organisations) are kept by a `lianxin.membership_view.MembershipView`, shared
with the other services that need them; its docstring states the
business-time rules (when a member counts, their stage and unit on a day, when
a household link counts, the current tree, ties and repeats).

Reporting's own rules (API.md "Reporting"): stock figures (members, household
links) are counted on one day D, the period's end (`to`), over the subtree of
the unit asked for, in the current tree. Flow figures count what happened in
[from, to] in business time: a deed on its `done_on` (unless disputed), an
activity on its `held_on`, a case as solved or mediated on its `resolved_on`,
and each in the unit the event names.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime

from lianxin.catalog.activities import ACTIVITY_KINDS, DIRECTOR_ROLES, SECRETARY_ROLES
from lianxin.catalog.membership import ADMITTED_STAGES
from lianxin.envelope import Event
from lianxin.errors import NotFound
from lianxin.membership_view import LinkFacts, MemberFacts, MembershipView, PartyOrg, Unit

from .totals import DeedTotals


class DatedIndex:
    """Fact ids per unit and kind, by their business date.

    This is what makes the read model "per unit and period": a query for a
    subtree and [from, to] reads only the days inside the period, never the
    rest. Each (kind, unit) keeps its days sorted and, per day, the ids in id
    order; so a fact is filed in O(facts that day), however many there are in
    all (a single sorted list cost a move of the whole tail per insert, which
    grows with the store), and a late or out-of-order fact simply goes to its
    day. A fact seen again with another date is moved.
    """

    def __init__(self) -> None:
        # (kind, unit) -> (sorted days, {day: sorted ids})
        self._days: dict[tuple[str, str], tuple[list, dict]] = {}
        self._where: dict[tuple[str, str], tuple] = {}    # (kind, id) -> (unit, day)

    def put(self, kind: str, unit_id: str, day: date, item_id: str) -> None:
        old = self._where.get((kind, item_id))
        if old == (unit_id, day):
            return
        if old is not None:
            self._remove(kind, old[0], old[1], item_id)
        days, ids_on = self._days.setdefault((kind, unit_id), ([], {}))
        ids = ids_on.get(day)
        if ids is None:
            ids = ids_on[day] = []
            bisect.insort(days, day)
        if not ids or item_id > ids[-1]:
            ids.append(item_id)
        else:
            bisect.insort(ids, item_id)
        self._where[(kind, item_id)] = (unit_id, day)

    def _remove(self, kind: str, unit_id: str, day: date, item_id: str) -> None:
        days, ids_on = self._days[(kind, unit_id)]
        ids = ids_on[day]
        del ids[bisect.bisect_left(ids, item_id)]
        if not ids:
            del ids_on[day]
            del days[bisect.bisect_left(days, day)]

    def between(self, kind: str, units, start: date, end: date) -> list[str]:
        """Ids of the facts of `kind` in the units dated within [start, end]."""
        out = []
        for unit in units:
            entry = self._days.get((kind, unit))
            if entry:
                days, ids_on = entry
                for day in days[bisect.bisect_left(days, start):bisect.bisect_right(days, end)]:
                    out.extend(ids_on[day])
        return out


@dataclass(frozen=True)
class HeldActivity:
    id: str
    kind: str
    org_unit_id: str
    held_on: date
    series: str | None
    session_no: int | None
    speakers: tuple            # (speaker key, role)


@dataclass(frozen=True)
class DeedFact:
    id: str
    member_id: str
    org_unit_id: str
    done_on: date
    points: int
    household_id: str | None = None


@dataclass(frozen=True)
class HonourFact:
    id: str
    nominee_kind: str
    category_name: str
    org_unit_id: str
    awarded_on: date
    nominee_id: str = ""
    awarding_body: str = ""
    external: bool = False      # awarded by a higher body (intake), not nominated here


@dataclass(frozen=True)
class Resolution:
    case_id: str
    kind: str
    org_unit_id: str
    resolved_on: date


@dataclass
class FindingFacts:
    """A finding's dated facts; its state on a day is derived from them."""
    id: str
    org_unit_id: str | None = None
    round_id: str | None = None
    found_on: date | None = None
    confirmed: bool = False
    dismissed: bool = False
    plans: list = field(default_factory=list)          # (occurred_at, due_on)
    # (date, occurred_at): a reopening and a verification on the same day
    # are told apart by which was recorded later.
    verified: list = field(default_factory=list)
    reopened: list = field(default_factory=list)

    def counts(self) -> bool:
        return self.found_on is not None and self.confirmed and not self.dismissed

    def due_on(self) -> date | None:
        return max(self.plans)[1] if self.plans else None

    def rectified_on(self, day: date) -> date | None:
        """The verification in force on `day` (none if reopened after it)."""
        verified = [v for v in self.verified if v[0] <= day]
        reopened = [r for r in self.reopened if r[0] <= day]
        if verified and (not reopened or max(verified) > max(reopened)):
            return max(verified)[0]
        return None


@dataclass
class ReportModel:
    membership: MembershipView = field(default_factory=MembershipView)
    applied: int = 0
    last_occurred_at: datetime | None = None
    # Activities' facts, keyed by their ids (a repeat replaces, never adds),
    # with an index by unit so a subtree query reads only its own.
    activities: dict = field(default_factory=dict)
    deeds: dict = field(default_factory=dict)
    disputed_deeds: set = field(default_factory=set)
    deed_totals: DeedTotals = field(default_factory=DeedTotals)     # of the counted (undisputed) deeds
    resolutions: dict = field(default_factory=dict)
    # Dated facts by unit and business date (activities, deeds, resolutions,
    # assessments, honours); findings by unit only, as their state on a day
    # comes from several dated facts.
    dated: DatedIndex = field(default_factory=DatedIndex)
    by_unit: dict = field(default_factory=dict)      # unit -> {"findings": set of ids}
    assessments: dict = field(default_factory=dict)  # assessment id -> (round id, unit, inspected_on, total)
    findings: dict = field(default_factory=dict)     # finding id -> FindingFacts
    rounds: dict = field(default_factory=dict)       # round id -> name
    honours: dict = field(default_factory=dict)      # honour id -> HonourFact
    revoked: dict = field(default_factory=dict)      # honour id -> revoked_on
    # 三会一课: {(org unit or None for the default, kind): frequency or None}
    obligation_rules: dict = field(default_factory=dict)
    _occurred: datetime | None = None

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
            occurred = event.occurred_at
            self.membership.apply((event,))     # it takes membership's events and ignores the rest
            own = getattr(self, f"_on_{event.event_type}", None)
            if own is not None:
                self._occurred = occurred
                own(event.data)
            self.applied += 1
            if self.last_occurred_at is None or occurred > self.last_occurred_at:
                self.last_occurred_at = occurred

    # -- activities' events --------------------------------------------------------------
    def _index(self, kind: str, unit_id: str, item_id: str) -> None:
        self.by_unit.setdefault(unit_id, {}).setdefault(kind, set()).add(item_id)

    def dated_ids(self, kind: str, units: list[str], start: date, end: date) -> list[str]:
        return self.dated.between(kind, units, start, end)

    def _on_activity_held(self, data: dict) -> None:
        speakers = tuple((s.get("member_id") or f"name:{s['name']}", s["role"]) for s in data["speakers"])
        self.activities[data["activity_id"]] = HeldActivity(
            data["activity_id"], data["kind"], data["org_unit_id"], data["held_on"], data.get("series"),
            data.get("session_no"), speakers)
        self.dated.put("activities", data["org_unit_id"], data["held_on"], data["activity_id"])

    def _on_obligation_rule_set(self, data: dict) -> None:
        self.obligation_rules[(data.get("org_unit_id"), data["kind"])] = data["frequency"]

    def _on_deed_recorded(self, data: dict) -> None:
        deed = DeedFact(data["deed_id"], data["member_id"], data["org_unit_id"],
                        data["done_on"], data["points"], data.get("household_id"))
        counted = deed.id not in self.disputed_deeds
        old = self.deeds.get(deed.id)
        if old is not None and counted:
            self.deed_totals.remove(old.org_unit_id, old.member_id, old.done_on, old.points)
        self.deeds[deed.id] = deed
        if counted:
            self.deed_totals.add(deed.org_unit_id, deed.member_id, deed.done_on, deed.points)
        self.dated.put("deeds", data["org_unit_id"], data["done_on"], data["deed_id"])

    def _on_deed_disputed(self, data: dict) -> None:
        deed = self.deeds.get(data["deed_id"])
        if deed is not None and deed.id not in self.disputed_deeds:
            self.deed_totals.remove(deed.org_unit_id, deed.member_id, deed.done_on, deed.points)
        self.disputed_deeds.add(data["deed_id"])

    def _on_case_resolved(self, data: dict) -> None:
        self.resolutions[data["case_id"]] = Resolution(data["case_id"], data["kind"], data["org_unit_id"],
                                                       data["resolved_on"])
        self.dated.put("resolutions", data["org_unit_id"], data["resolved_on"], data["case_id"])

    # -- inspections' events -------------------------------------------------------------
    def _finding(self, data: dict) -> FindingFacts:
        facts = self.findings.setdefault(data["finding_id"], FindingFacts(data["finding_id"]))
        if facts.org_unit_id is None:
            facts.org_unit_id, facts.round_id = data["org_unit_id"], data["round_id"]
            self._index("findings", data["org_unit_id"], data["finding_id"])
        return facts

    def _on_unit_assessed(self, data: dict) -> None:
        self.assessments[data["assessment_id"]] = (data["round_id"], data["org_unit_id"], data["inspected_on"],
                                                   data["total"])
        self.dated.put("assessments", data["org_unit_id"], data["inspected_on"], data["assessment_id"])

    def _on_inspection_round_opened(self, data: dict) -> None:
        self.rounds[data["round_id"]] = data["name"]

    def _on_finding_raised(self, data: dict) -> None:
        facts = self._finding(data)
        facts.found_on = data["found_on"]
        facts.confirmed = facts.confirmed or data["status"] == "confirmed"

    def _on_finding_confirmed(self, data: dict) -> None:
        self._finding(data).confirmed = True

    def _on_finding_dismissed(self, data: dict) -> None:
        self._finding(data).dismissed = True

    def _on_rectification_planned(self, data: dict) -> None:
        facts = self._finding(data)
        if (self._occurred, data["due_on"]) not in facts.plans:
            facts.plans.append((self._occurred, data["due_on"]))

    def _on_rectification_verified(self, data: dict) -> None:
        self._finding(data).verified.append((data["verified_on"], self._occurred))

    def _on_finding_reopened(self, data: dict) -> None:
        self._finding(data).reopened.append((data["reopened_on"], self._occurred))

    def _inspection_figures(self, units: list[str], start: date, end: date) -> dict:
        assessed = [self.assessments[i] for i in self.dated_ids("assessments", units, start, end)]
        findings = [self.findings[i] for i in self.unit_items("findings", units) if self.findings[i].counts()]
        return {
            "rounds": len({a[0] for a in assessed}),
            "units_inspected": len({a[1] for a in assessed}),
            "assessments": len(assessed),
            "findings": sum(start <= f.found_on <= end for f in findings),
            "rectified": sum(1 for f in findings if (d := f.rectified_on(end)) is not None and start <= d),
            # as of `to`: due before it and not rectified on it
            "overdue": sum(1 for f in findings if f.due_on() is not None and f.due_on() < end
                           and f.found_on <= end and f.rectified_on(end) is None),
        }

    # -- honours' events --------------------------------------------------------------------
    def _on_honour_awarded(self, data: dict) -> None:
        self.honours[data["honour_id"]] = HonourFact(
            data["honour_id"], data["nominee_kind"], data["category_name"], data["org_unit_id"], data["awarded_on"],
            data["nominee_id"], data["awarding_body"], bool(data.get("external")))
        self.dated.put("honours", data["org_unit_id"], data["awarded_on"], data["honour_id"])

    def _on_honour_revoked(self, data: dict) -> None:
        self.revoked[data["honour_id"]] = data["revoked_on"]

    def awarded(self, units: list[str], start: date, end: date) -> list[HonourFact]:
        """Honours awarded in [from, to] and not revoked by `to`, in award order."""
        ids = self.dated_ids("honours", units, start, end)
        return [self.honours[i] for i in ids if not (i in self.revoked and self.revoked[i] <= end)]

    def _honour_figures(self, units: list[str], start: date, end: date) -> dict:
        """collective/individual: the unit's own (nominated here), as the article
        counts 先进集体 and 先进个人; honours from higher bodies are listed apart.
        by_category: every honour, both kinds."""
        awarded = self.awarded(units, start, end)
        own = [h for h in awarded if not h.external]
        by_category: dict[str, int] = {}
        higher: dict[tuple, int] = {}
        for h in awarded:
            by_category[h.category_name] = by_category.get(h.category_name, 0) + 1
            if h.external:
                key = (h.category_name, h.awarding_body, h.nominee_kind)
                higher[key] = higher.get(key, 0) + 1
        return {"collective": sum(h.nominee_kind == "collective" for h in own),
                "individual": sum(h.nominee_kind == "individual" for h in own),
                "by_category": dict(sorted(by_category.items())),
                "from_higher_bodies": [{"title": t, "awarding_body": b, "nominee_kind": k, "count": n}
                                       for (t, b, k), n in sorted(higher.items())]}

    def unit_items(self, kind: str, units: list[str]) -> list[str]:
        return [i for u in units for i in self.by_unit.get(u, {}).get(kind, ())]

    def _activity_figures(self, units: list[str], start: date, end: date) -> tuple[dict, list]:
        # In date order, so a speaker who spoke in two roles is counted by the
        # latest whatever order the events came in.
        held = sorted((self.activities[i] for i in self.dated_ids("activities", units, start, end)),
                      key=lambda a: (a.held_on, a.session_no or 0, a.id))
        by_kind = dict.fromkeys(ACTIVITY_KINDS, 0)
        series: dict[str, dict] = {}
        for activity in held:
            by_kind[activity.kind] += 1
            if activity.series:
                entry = series.setdefault(activity.series, {"sessions": 0, "speakers": {}})
                entry["sessions"] += 1
                for key, role in activity.speakers:
                    entry["speakers"][key] = role
        lectures = []
        for name in sorted(series):
            roles = list(series[name]["speakers"].values())
            lectures.append({
                "series": name, "sessions": series[name]["sessions"], "speakers": len(roles),
                "secretaries": sum(r in SECRETARY_ROLES for r in roles),
                "directors": sum(r in DIRECTOR_ROLES for r in roles),
                "speakers_by_role": {r: roles.count(r) for r in sorted(set(roles))},
            })
        return by_kind, lectures

    def _deed_figures(self, units: list[str], start: date, end: date) -> dict:
        return self.deed_totals.figures(units, start, end)

    def deeds_between(self, units: list[str], start: date, end: date) -> list[DeedFact]:
        """Deeds done in [from, to] in the units, disputed ones left out."""
        return [self.deeds[i] for i in self.dated_ids("deeds", units, start, end) if i not in self.disputed_deeds]

    def resolved_between(self, units: list[str], start: date, end: date) -> list[Resolution]:
        return [self.resolutions[i] for i in self.dated_ids("resolutions", units, start, end)]

    def _case_figures(self, units: list[str], start: date, end: date) -> dict:
        resolved = self.resolved_between(units, start, end)
        return {"difficult_matters_solved": sum(r.kind == "difficult_matter" for r in resolved),
                "disputes_mediated": sum(r.kind == "dispute" for r in resolved)}

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
        by_kind, lectures = self._activity_figures(units, start, end)
        return {
            "org_unit_id": unit_id,
            "org_unit_name": self.membership.unit_name(unit_id),
            "from": start.isoformat(),
            "to": end.isoformat(),
            # total: everyone registered and not gone on `to`, whatever the stage
            # (API.md); party_members: the admitted ones (预备党员 and 正式党员).
            "members": {"total": sum(by_stage.values()),
                        "party_members": sum(by_stage[s] for s in ADMITTED_STAGES), "by_stage": by_stage},
            "household_links": self.membership.count_links(units, end),
            "deeds": self._deed_figures(units, start, end),
            "activities": {"by_kind": by_kind},
            "lecture_series": lectures,
            "inspections": self._inspection_figures(units, start, end),
            "honours": self._honour_figures(units, start, end),
            "cases": self._case_figures(units, start, end),
        }
