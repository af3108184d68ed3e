"""The table reports (issue 7): 三会一课 compliance by branch and month,
inspections by round and unit, the honours register, deeds by member,
household, community and week, and cases. Pure functions of a ReportModel.

Every report has one shape, so that one CSV/XLSX rendering serves them all:
{"report", "org_unit_id", "org_unit_name", "from", "to", "columns", "rows",
"totals", ...}; rows are flat dicts whose keys are `columns`. The period rules
are the summary's (API.md): flows in [from, to] by business date, stocks
(members, household links) on `to`, all over the unit's subtree in the
current tree.
"""
from __future__ import annotations

from datetime import date, timedelta

from lianxin.catalog.membership import ADMITTED_STAGES
from lianxin.errors import InvalidInput
from lianxin.obligations import compliance as obligations_held, frequencies_for, horizon, obliged_units, periods_between

from .domain import ReportModel

DEED_GROUPINGS = ("community", "week", "member", "household")


def _report(name: str, model: ReportModel, unit_id: str, start: date, end: date, columns: list[str],
            rows: list[dict], totals: dict, **extra) -> dict:
    return {"report": name, "org_unit_id": unit_id, "org_unit_name": model.membership.unit_name(unit_id),
            "from": start.isoformat(), "to": end.isoformat(), "columns": columns, "rows": rows,
            "totals": totals, **extra}


def _sum(rows: list[dict], keys) -> dict:
    return {k: sum(r[k] or 0 for r in rows) for k in keys}


def _groups(model: ReportModel, unit_id: str, level: str = "community") -> list[tuple[str, str, list[str]]]:
    """(group id, name, units) covering the whole subtree once: each unit of
    `level` with its subtree, and the rest (units above that level, e.g. the
    street's own organs or a zone) as one group named after the unit asked
    for, so that rows always add up to the subtree's totals. A unit at or
    below `level` is one group."""
    view = model.membership
    subtree = model.subtree(unit_id)
    tops = [u for u in subtree if view.unit_level(u) == level]
    if not tops or tops == [unit_id]:
        return [(unit_id, view.unit_name(unit_id), subtree)]
    groups, covered = [], set()
    for top in tops:
        units = view.subtree(top)
        covered.update(units)
        groups.append((top, view.unit_name(top), units))
    rest = [u for u in subtree if u not in covered]
    if rest:
        groups.append((unit_id, f"{view.unit_name(unit_id)}（社区以上）", rest))
    return groups


def _ancestor_at(model: ReportModel, unit_id: str, level: str) -> str | None:
    view = model.membership
    for candidate in [unit_id] + view.ancestors(unit_id):
        if view.unit_level(candidate) == level:
            return candidate
    return None


# -- deeds ----------------------------------------------------------------------------------

def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(label: str) -> tuple[date, date]:
    """'2018-W23' -> (Monday, Sunday)."""
    try:
        year, week = label.split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
    except (ValueError, TypeError):
        raise InvalidInput("week must look like 2018-W23", {"week": ["must look like 2018-W23 (ISO week)"]})
    return monday, monday + timedelta(days=6)


def _party_members_on(model: ReportModel, units: list[str], day: date) -> list[str]:
    """Party members (预备/正式) counted on `day`: they are the ones who do 小事."""
    view = model.membership
    return [m for m in view.members_on(units, day) if view.members[m].stage_on(day) in ADMITTED_STAGES]


def deeds(model: ReportModel, unit_id: str, start: date, end: date, by: str = "community") -> dict:
    if by not in DEED_GROUPINGS:
        raise InvalidInput(f"deeds are grouped by one of {', '.join(DEED_GROUPINGS)}",
                           {"by": [f"must be one of {', '.join(DEED_GROUPINGS)}"]})
    return {"community": _deeds_by_community, "week": _deeds_by_week, "member": _deeds_by_member,
            "household": _deeds_by_household}[by](model, unit_id, start, end)


def _deeds_by_community(model, unit_id, start, end) -> dict:
    rows = []
    for group, name, units in _groups(model, unit_id):
        done = model.deeds_between(units, start, end)
        members = len(_party_members_on(model, units, end))
        if not (done or members) and group == unit_id and len(units) < len(model.subtree(unit_id)):
            continue        # the above-community group, when nothing is there
        rows.append({"org_unit_id": group, "org_unit_name": name, "members": members,
                     "members_with_deeds": len({d.member_id for d in done}), "deeds": len(done),
                     "points": sum(d.points for d in done)})
    columns = ["org_unit_id", "org_unit_name", "members", "members_with_deeds", "deeds", "points"]
    done = model.deeds_between(model.subtree(unit_id), start, end)
    totals = {**_sum(rows, ("members", "deeds", "points")), "members_with_deeds": len({d.member_id for d in done})}
    return _report("deeds", model, unit_id, start, end, columns, rows, totals, by="community")


def _deeds_by_week(model, unit_id, start, end) -> dict:
    """Per ISO week (clipped to the period) and community: deeds, who did them
    (anyone, as the summary counts members_with_deeds), and the party members
    counted at the week's end and those of them with no deed that week
    (每周办一件小事)."""
    rows = []
    groups = _groups(model, unit_id)
    monday = start - timedelta(days=start.weekday())
    while monday <= end:
        first, last = max(monday, start), min(monday + timedelta(days=6), end)
        for group, name, units in groups:
            done = model.deeds_between(units, first, last)
            members = set(_party_members_on(model, units, last))
            if not (done or members) and group == unit_id and len(groups) > 1:
                continue    # the above-community group, when nothing is there
            doers = {d.member_id for d in done}
            rows.append({"week": iso_week(monday), "week_start": monday.isoformat(),
                         "org_unit_id": group, "org_unit_name": name,
                         "deeds": len(done), "members": len(members), "members_with_deeds": len(doers),
                         "members_without_deeds": len(members - doers)})
        monday += timedelta(days=7)
    columns = ["week", "week_start", "org_unit_id", "org_unit_name", "deeds", "members", "members_with_deeds",
               "members_without_deeds"]
    return _report("deeds", model, unit_id, start, end, columns, rows, _sum(rows, ("deeds",)), by="week")


def _deeds_by_member(model, unit_id, start, end) -> dict:
    """Every party member counted on `to` (those with no deed too, with 0) and
    anyone else who did a deed in the period."""
    view = model.membership
    units = model.subtree(unit_id)
    done = model.deeds_between(units, start, end)
    per_member: dict[str, list] = {m: [] for m in _party_members_on(model, units, end)}
    for d in done:
        per_member.setdefault(d.member_id, []).append(d)
    rows = []
    for member_id in sorted(per_member):
        items = per_member[member_id]
        facts = view.member(member_id)
        unit = facts.unit_on(end) if facts else None
        unit = unit or (items[0].org_unit_id if items else None)
        rows.append({"member_id": member_id, "member_name": facts.name if facts else None,
                     "org_unit_id": unit, "org_unit_name": view.unit_name(unit) if unit else None,
                     "deeds": len(items), "points": sum(d.points for d in items),
                     "weeks_with_deeds": len({iso_week(d.done_on) for d in items}),
                     "last_done_on": max(d.done_on for d in items).isoformat() if items else None})
    columns = ["member_id", "member_name", "org_unit_id", "org_unit_name", "deeds", "points", "weeks_with_deeds",
               "last_done_on"]
    totals = {**_sum(rows, ("deeds", "points")), "members": len(_party_members_on(model, units, end)),
              "members_with_deeds": sum(1 for r in rows if r["deeds"]),
              "members_without_deeds": sum(1 for r in rows if not r["deeds"])}
    return _report("deeds", model, unit_id, start, end, columns, rows, totals, by="member")


def _deeds_by_household(model, unit_id, start, end) -> dict:
    """Households served (deeds naming one), with the members who served them."""
    view = model.membership
    households: dict[str, list] = {}
    for d in model.deeds_between(model.subtree(unit_id), start, end):
        if d.household_id:
            households.setdefault(d.household_id, []).append(d)
    rows = []
    for household_id in sorted(households):
        items = households[household_id]
        unit = items[-1].org_unit_id
        rows.append({"household_id": household_id, "org_unit_id": unit, "org_unit_name": view.unit_name(unit),
                     "linked_member_id": view.household_member_on(household_id, end),
                     "deeds": len(items), "members": len({d.member_id for d in items}),
                     "last_done_on": max(d.done_on for d in items).isoformat()})
    columns = ["household_id", "org_unit_id", "org_unit_name", "linked_member_id", "deeds", "members",
               "last_done_on"]
    totals = {**_sum(rows, ("deeds",)), "households": len(rows)}
    return _report("deeds", model, unit_id, start, end, columns, rows, totals, by="household")


# -- 三会一课 compliance ----------------------------------------------------------------------

def compliance(model: ReportModel, unit_id: str, start: date, end: date, today: date,
               obligations_from: date) -> dict:
    """Per branch (a unit whose Party organisation owes 三会一课) and month: the
    obligations whose period ends in that month (monthly ones every month,
    quarterly ones in the quarter's last month, yearly ones in December), how
    many were held at least once, and how many were missed (closed with none).
    Nothing is due before `obligations_from` (as activities rules)."""
    view = model.membership
    # Worked out up to the end of next year at most (obligations.horizon).
    first, end = max(start, obligations_from), min(end, horizon(today))
    branches = obliged_units(view, model.subtree(unit_id))
    rows, details = [], []
    months = periods_between(first, end, "monthly") if first <= end else []
    for branch in branches:
        held: dict[str, list[date]] = {}
        # Periods overlapping [first, end] may reach a year either side of it.
        for activity_id in model.dated_ids("activities", [branch], first - timedelta(days=366),
                                           end + timedelta(days=366)):
            activity = model.activities[activity_id]
            held.setdefault(activity.kind, []).append(activity.held_on)
        by_month = {m.label: {"due": 0, "held": 0, "missed": 0} for m in months}
        frequencies = frequencies_for(branch, model.obligation_rules)
        for item in obligations_held(branch, frequencies, held, first, end) if months else ():
            cell = by_month.get(item.period.end.strftime("%Y-%m"))
            if cell is None:            # a quarter or year ending after `to`
                continue
            missed = item.missed and item.period.end < today
            cell["due"] += 1
            cell["held"] += not item.missed
            cell["missed"] += missed
            details.append({"org_unit_id": branch, "kind": item.kind, "period": item.period.label,
                            "period_end": item.period.end.isoformat(), "held": item.held, "missed": missed})
        for month in months:
            cell = by_month[month.label]
            rows.append({"org_unit_id": branch, "org_unit_name": view.unit_name(branch), "month": month.label,
                         **cell, "rate": round(cell["held"] / cell["due"], 4) if cell["due"] else None})
    columns = ["org_unit_id", "org_unit_name", "month", "due", "held", "missed", "rate"]
    totals = _sum(rows, ("due", "held", "missed"))
    totals["rate"] = round(totals["held"] / totals["due"], 4) if totals["due"] else None
    return _report("compliance", model, unit_id, start, end, columns, rows, totals, branches=len(branches),
                   obligations=details)


# -- inspections ------------------------------------------------------------------------------

def inspections(model: ReportModel, unit_id: str, start: date, end: date, round_id: str | None = None) -> dict:
    """Per round and unit: its score (assessed in [from, to]) and its findings
    counted as the summary counts them - found in the period; rectified
    (verified in the period, still so on `to`); open and overdue on `to` (of
    those found by then; overdue: due before `to`) - and the same by zone, so
    that the totals are the summary's figures."""
    view = model.membership
    units = model.subtree(unit_id)
    assessed = [model.assessments[i] for i in model.dated_ids("assessments", units, start, end)]
    if round_id:
        assessed = [a for a in assessed if a[0] == round_id]
    findings: dict[tuple, list] = {}
    for finding_id in model.unit_items("findings", units):
        f = model.findings[finding_id]
        if f.counts() and f.found_on <= end and (not round_id or f.round_id == round_id):
            findings.setdefault((f.round_id, f.org_unit_id), []).append(f)

    def figures(items: list) -> dict:
        rectified_on = [f.rectified_on(end) for f in items]
        return {"findings": sum(start <= f.found_on for f in items),
                "rectified": sum(1 for d in rectified_on if d is not None and start <= d),
                "open": sum(1 for d in rectified_on if d is None),
                "overdue": sum(1 for f, d in zip(items, rectified_on)
                               if d is None and f.due_on() is not None and f.due_on() < end)}

    def row(round_, unit, inspected_on=None, score=None) -> dict:
        zone = _ancestor_at(model, unit, "zone")
        return {"round_id": round_, "round_name": model.rounds.get(round_), "org_unit_id": unit,
                "org_unit_name": view.unit_name(unit), "zone_id": zone,
                "zone_name": view.unit_name(zone) if zone else None,
                "inspected_on": inspected_on.isoformat() if inspected_on else None, "score": score,
                **figures(findings.get((round_, unit), []))}

    rows, seen = [], set()
    for round_, unit, inspected_on, total in sorted(assessed, key=lambda a: (a[0], a[1], a[2])):
        seen.add((round_, unit))
        rows.append(row(round_, unit, inspected_on, total))
    # Findings of units not assessed in the period still count, where they say anything.
    for round_, unit in sorted(k for k in findings if k not in seen):
        extra = row(round_, unit)
        if any(extra[k] for k in ("findings", "rectified", "open", "overdue")):
            rows.append(extra)
    zones: dict = {}
    for (_, unit), items in findings.items():
        zones.setdefault(_ancestor_at(model, unit, "zone"), []).extend(items)
    zone_rows = [{"zone_id": z, "zone_name": view.unit_name(z) if z else None, **figures(items)}
                 for z, items in sorted(zones.items(), key=lambda kv: kv[0] or "")]
    columns = ["round_id", "round_name", "org_unit_id", "org_unit_name", "zone_id", "zone_name", "inspected_on",
               "score", "findings", "rectified", "open", "overdue"]
    totals = {**_sum(rows, ("findings", "rectified", "open", "overdue")),
              "rounds": len({a[0] for a in assessed}), "units_inspected": len({a[1] for a in assessed}),
              "assessments": len(assessed)}
    return _report("inspections", model, unit_id, start, end, columns, rows, totals, zones=zone_rows)


# -- honours ----------------------------------------------------------------------------------

def honours(model: ReportModel, unit_id: str, start: date, end: date) -> dict:
    """The honours register: awarded in [from, to] in the subtree, revoked ones
    listed with their revocation date (and left out of the totals)."""
    view = model.membership
    units = model.subtree(unit_id)
    rows = []
    for honour_id in model.dated_ids("honours", units, start, end):
        h = model.honours[honour_id]
        revoked_on = model.revoked.get(honour_id)
        if h.nominee_kind == "individual":
            facts = view.member(h.nominee_id)
            nominee_name = facts.name if facts else None
        else:
            nominee_name = view.unit_name(h.nominee_id)
        rows.append({"honour_id": h.id, "awarded_on": h.awarded_on.isoformat(), "category_name": h.category_name,
                     "nominee_kind": h.nominee_kind, "nominee_id": h.nominee_id, "nominee_name": nominee_name,
                     "org_unit_id": h.org_unit_id, "org_unit_name": view.unit_name(h.org_unit_id),
                     "awarding_body": h.awarding_body, "external": h.external,
                     "revoked_on": revoked_on.isoformat() if revoked_on and revoked_on <= end else None})
    standing = [r for r in rows if r["revoked_on"] is None]
    by_category: dict[str, int] = {}
    for r in standing:
        by_category[r["category_name"]] = by_category.get(r["category_name"], 0) + 1
    columns = ["honour_id", "awarded_on", "category_name", "nominee_kind", "nominee_id", "nominee_name",
               "org_unit_id", "org_unit_name", "awarding_body", "external", "revoked_on"]
    totals = {"honours": len(standing), "revoked": len(rows) - len(standing),
              "collective": sum(r["nominee_kind"] == "collective" and not r["external"] for r in standing),
              "individual": sum(r["nominee_kind"] == "individual" and not r["external"] for r in standing),
              "from_higher_bodies": sum(r["external"] for r in standing)}
    return _report("honours", model, unit_id, start, end, columns, rows, totals,
                   by_category=dict(sorted(by_category.items())))


# -- cases ------------------------------------------------------------------------------------

def cases(model: ReportModel, unit_id: str, start: date, end: date) -> dict:
    """Difficult matters solved and disputes mediated (resolved in [from, to])
    per community, and those resolved above the communities in a row of their own."""
    rows = []
    groups = _groups(model, unit_id)
    for group, name, units in groups:
        resolved = model.resolved_between(units, start, end)
        if not resolved and group == unit_id and len(groups) > 1:
            continue
        rows.append({"org_unit_id": group, "org_unit_name": name,
                     "difficult_matters_solved": sum(r.kind == "difficult_matter" for r in resolved),
                     "disputes_mediated": sum(r.kind == "dispute" for r in resolved)})
    columns = ["org_unit_id", "org_unit_name", "difficult_matters_solved", "disputes_mediated"]
    return _report("cases", model, unit_id, start, end, columns, rows,
                   _sum(rows, ("difficult_matters_solved", "disputes_mediated")))


REPORTS = {"deeds": deeds, "compliance": compliance, "inspections": inspections, "honours": honours,
           "cases": cases}
