"""Inspections' use cases: plain functions over the store, one per command."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from lianxin.commands import outcomes, Settle, create_once, envelopes, intake_result, new_id, retrying, wait_briefly
from lianxin.consumer import Result
from lianxin.errors import Conflict, NotFound
from lianxin.replies import created, existing
from lianxin.store import fingerprint

from . import domain
from .store import InspectionsStore

SOURCE = "inspections"


def _events(events) -> list[dict]:
    return envelopes(events, source=SOURCE)


def _round(store: InspectionsStore, round_id: str) -> domain.Round:
    rnd = store.get_round(round_id)
    if rnd is None:
        raise NotFound(f"round {round_id!r} does not exist", {"round_id": [f"unknown round {round_id!r}"]})
    return _current_units(store, rnd)


def _current_units(store: InspectionsStore, rnd: domain.Round) -> domain.Round:
    """The units to assess, from the tree as this service knows it now: units
    created a moment before the round was opened may have reached the view
    only after it (DESIGN.md rule 7). Units already assessed stay in."""
    try:
        units = domain.units_to_assess(store.view, list(rnd.scope_org_unit_ids))
    except NotFound:
        return rnd
    merged = tuple(dict.fromkeys([u for u in units] + [u for u in rnd.assessments]))
    return rnd if merged == rnd.unit_ids else replace(rnd, unit_ids=merged)


def _finding_round(store: InspectionsStore, finding_id: str) -> domain.Round:
    rnd = store.round_of_finding(finding_id)
    if rnd is None:
        raise NotFound(f"finding {finding_id!r} does not exist", {"finding_id": [f"unknown finding {finding_id!r}"]})
    return _current_units(store, rnd)


# -- checklists ---------------------------------------------------------------------------

def create_checklist(store: InspectionsStore, command: dict) -> dict:
    checklist_id = command.get("id") or new_id()

    def create():
        checklist, events = domain.create_checklist(checklist_id, command)
        store.save_checklist(None, checklist, _events(events), fingerprint(command))
        return checklist_view(checklist)

    return create_once(load=lambda: store.checklist_doc(checklist_id), fingerprint=fingerprint(command),
                       create=create, view=lambda doc: checklist_view(store.checklist(doc)))


def revise_checklist(store: InspectionsStore, checklist_id: str, command: dict) -> dict:
    def run():
        checklist = store.get_checklist(checklist_id)
        if checklist is None:
            raise NotFound(f"checklist {checklist_id!r} does not exist")
        revised, events = domain.revise_checklist(checklist, command)
        store.save_checklist(checklist, revised, _events(events))
        return created(checklist_view(revised))
    return retrying(run)


def get_checklist(store: InspectionsStore, checklist_id: str) -> dict:
    checklist = store.get_checklist(checklist_id)
    if checklist is None:
        raise NotFound(f"checklist {checklist_id!r} does not exist")
    return existing(checklist_view(checklist))


# -- rounds -----------------------------------------------------------------------------------

def open_round(store: InspectionsStore, command: dict, settle: Settle = wait_briefly) -> dict:
    round_id = command.get("id") or new_id()
    settle(lambda: all(store.view.is_known(u) for u in command["scope_org_unit_ids"]))

    def create():
        if command.get("checklist"):
            # Inline items: a template of their own, version 1, named after the round.
            checklist_id, version = f"round:{round_id}", 1
            items = domain._items(command["checklist"])
        else:
            checklist_id = command["checklist_id"]
            checklist = store.get_checklist(checklist_id)
            if checklist is None:
                raise NotFound(f"checklist {checklist_id!r} does not exist",
                               {"checklist_id": [f"unknown checklist {checklist_id!r}"]})
            version = command.get("checklist_version") or checklist.latest
            if version not in checklist.versions:
                raise NotFound(f"checklist {checklist_id!r} has no version {version}",
                               {"checklist_version": [f"unknown version {version}"]})
            items = checklist.versions[version]
        previous = store.get_round(command["follows_round_id"]) if command.get("follows_round_id") else None
        rnd, events = domain.open_round(round_id, command, checklist_id, version, items, store.view, previous)
        store.save_round(None, rnd, _events(events), fingerprint(command))
        return round_view(rnd)

    return create_once(load=lambda: store.round_doc(round_id), fingerprint=fingerprint(command),
                       create=create, view=lambda doc: round_view(store.round(doc)))


def close_round(store: InspectionsStore, round_id: str, command: dict) -> dict:
    def run():
        rnd = _round(store, round_id)
        closed, events = domain.close_round(rnd, command)
        store.save_round(rnd, closed, _events(events))
        return existing(round_view(closed))
    return retrying(run)


def get_round(store: InspectionsStore, round_id: str, today: date) -> dict:
    return existing(round_view(_round(store, round_id), today))


def round_ranking(store: InspectionsStore, round_id: str) -> dict:
    rnd = _round(store, round_id)
    return existing({"round_id": rnd.id, "ranking": domain.ranking(rnd), "remaining": rnd.remaining})


def round_unit(store: InspectionsStore, round_id: str, unit_id: str, today: date) -> dict:
    """One unit in a round: score, open and overdue findings, and the evidence
    from activities for the round's period, pre-filled for the inspector."""
    rnd = _round(store, round_id)
    if unit_id not in rnd.unit_ids:
        raise NotFound(f"{unit_id!r} is not in round {round_id!r}", {"org_unit_id": ["outside the round's scope"]})
    findings = [f for f in rnd.findings.values() if f.org_unit_id == unit_id]
    assessment = rnd.assessments.get(unit_id)
    rank = next((r["rank"] for r in domain.ranking(rnd) if r["org_unit_id"] == unit_id), None)
    return existing({
        "round_id": rnd.id, "org_unit_id": unit_id,
        "assessment": _assessment_view(assessment) if assessment else None, "rank": rank,
        "open_findings": [finding_view(rnd, f, today) for f in findings if f.status in domain.OPEN],
        "overdue": [finding_view(rnd, f, today) for f in findings if f.days_overdue(today)],
        "findings": [finding_view(rnd, f, today) for f in findings],
        "evidence": store.evidence(unit_id, rnd.starts_on, rnd.ends_on),
    })


# -- assessments and findings --------------------------------------------------------------------

def record_assessment(store: InspectionsStore, round_id: str, command: dict, today: date) -> dict:
    assessment_id = command.get("id") or new_id()
    request = fingerprint({**command, "round_id": round_id})

    def create():
        def run():
            rnd = _round(store, round_id)
            if any(a["id"] == assessment_id for a in rnd.assessments.values()):
                # Recorded at the same moment elsewhere (another instance, a
                # repeated request): answered as a repeat by create_once.
                raise _duplicate_key(f"assessment {assessment_id!r} was recorded meanwhile", 11000)
            finding_ids = [f.get("id") or f"{assessment_id}-f{n}" for n, f in enumerate(command.get("findings", []), 1)]
            taken = [f for f in finding_ids if store.round_of_finding(f) is not None]
            if taken:
                raise Conflict("finding ids are taken: " + ", ".join(taken), {"findings": [f"{f!r} exists" for f in taken]})
            assessed, events = domain.assess(rnd, assessment_id, command, finding_ids, today)
            assessed.assessments[command["org_unit_id"]]["request_hash"] = request
            store.save_round(rnd, assessed, _events(events))
            return _assessment_view(assessed.assessments[command["org_unit_id"]])
        return retrying(run)

    def load():
        return store.assessment_request(assessment_id)

    def view(doc):
        return _assessment_view(_round(store, doc["round_id"]).assessments[doc["org_unit_id"]])

    return create_once(load=load, fingerprint=request, create=create, view=view)


def raise_finding(store: InspectionsStore, command: dict, today: date) -> dict:
    finding_id = command.get("id") or new_id()
    existing_round = store.round_of_finding(finding_id)
    if existing_round is not None:
        found = existing_round.findings[finding_id]
        same = (existing_round.id == command["round_id"] and found.org_unit_id == command["org_unit_id"]
                and (found.item, found.severity, found.description, found.found_on)
                == (command["item"], command["severity"], command["description"], command["found_on"]))
        if not same:
            raise Conflict(f"finding id {finding_id!r} exists with a different body",
                           {"id": [f"{finding_id!r} is taken by a different finding"]})
        return existing(finding_view(existing_round, found, today))

    def run():
        rnd = _round(store, command["round_id"])
        if finding_id in rnd.findings:          # raised at the same moment elsewhere: a repeat
            return existing(finding_view(rnd, rnd.findings[finding_id], today))
        changed, events = domain.raise_finding(rnd, finding_id, command, today)
        store.save_round(rnd, changed, _events(events))
        return created(finding_view(changed, changed.findings[finding_id], today))
    return retrying(run)


def _finding_change(store: InspectionsStore, finding_id: str, change, today: date,
                    applied_event: str | None = None) -> dict:
    def run():
        rnd = _finding_round(store, finding_id)
        if applied_event and applied_event in store.applied_events(rnd.id):
            return existing(finding_view(rnd, rnd.findings[finding_id], today))
        changed, events = change(rnd)
        store.save_round(rnd, changed, _events(events), applied_event=applied_event)
        return (created if applied_event else existing)(finding_view(changed, changed.findings[finding_id], today))
    return retrying(run)


def decide_finding(store, finding_id, command, today):
    return _finding_change(store, finding_id, lambda r: domain.decide_finding(r, finding_id, command, today), today)


def plan_rectification(store, finding_id, command, today):
    return _finding_change(store, finding_id, lambda r: domain.plan_rectification(r, finding_id, command, today),
                           today)


def start_rectification(store, finding_id, command, today):
    return _finding_change(store, finding_id, lambda r: domain.start_rectification(r, finding_id, command, today),
                           today)


def submit_rectification(store, finding_id, command, today, applied_event=None):
    return _finding_change(store, finding_id,
                           lambda r: domain.submit_rectification(r, finding_id, command, today), today, applied_event)


def verify_rectification(store, finding_id, command, today):
    return _finding_change(store, finding_id, lambda r: domain.verify_rectification(r, finding_id, command, today),
                           today)


def follow_up(store, finding_id, command, today):
    return _finding_change(store, finding_id, lambda r: domain.follow_up(r, finding_id, command, today), today)


def get_finding(store: InspectionsStore, finding_id: str, today: date) -> dict:
    rnd = _finding_round(store, finding_id)
    return existing(finding_view(rnd, rnd.findings[finding_id], today))


# -- the daily job, events in, intake -----------------------------------------------------------

def daily(store: InspectionsStore, today: date) -> int:
    """Due-soon and overdue warnings, each once (kept on the finding with its event)."""
    sent = 0
    for rnd in list(store.rounds_with_findings()):
        def run(round_id=rnd.id):
            current = _round(store, round_id)
            changed, events = domain.warnings(current, today)
            if events:
                store.save_round(current, changed, _events(events))
            return len(events)
        sent += retrying(run)
    return sent


def apply_events(store: InspectionsStore, events) -> list[Result]:
    return outcomes(events, store.apply_events(events))


def intake(store: InspectionsStore, events, today: date) -> list[Result]:
    results = []
    for event in events:
        command = dict(event.data)
        if event.event_type == "assessment_recorded":
            command.setdefault("id", event.event_id)
            round_id = command.pop("round_id")
            results.append(intake_result(lambda: record_assessment(store, round_id, command, today)))
        elif event.event_type == "rectification_submitted":
            finding_id = command.pop("finding_id")
            results.append(intake_result(lambda: submit_rectification(store, finding_id, command, today,
                                                                      applied_event=event.event_id)))
        else:
            results.append(Result.reject(f"inspections does not take intake of {event.event_type!r}"))
    return results


# -- views ------------------------------------------------------------------------------------------

def _iso(day):
    return day.isoformat() if day else None


def checklist_view(c: domain.Checklist) -> dict:
    return {"id": c.id, "name": c.name, "latest_version": c.latest,
            "versions": {str(v): list(items) for v, items in sorted(c.versions.items())}}


def _assessment_view(a: dict) -> dict:
    return {"id": a["id"], "inspected_on": a["inspected_on"].isoformat(), "scores": a["scores"],
            "total": a["total"], "inspector": a.get("inspector")}


def round_view(r: domain.Round, today: date | None = None) -> dict:
    return {"id": r.id, "name": r.name, "scope_org_unit_ids": list(r.scope_org_unit_ids), "unit_ids": list(r.unit_ids),
            "checklist_id": r.checklist_id, "checklist_version": r.checklist_version, "checklist": list(r.items),
            "starts_on": r.starts_on.isoformat(), "ends_on": r.ends_on.isoformat(), "inspectors": list(r.inspectors),
            "follows_round_id": r.follows_round_id, "closed_on": _iso(r.closed_on),
            "assessed": sorted(r.assessments), "remaining": r.remaining,
            "findings": len(r.findings),
            "open_findings": sum(1 for f in r.findings.values() if f.status in domain.OPEN)}


def finding_view(r: domain.Round, f: domain.Finding, today: date) -> dict:
    return {"id": f.id, "round_id": r.id, "org_unit_id": f.org_unit_id, "item": f.item, "severity": f.severity,
            "description": f.description, "found_on": f.found_on.isoformat(), "status": f.status, "owner": f.owner,
            "due_on": _iso(f.due_on), "plan": f.plan, "started_on": _iso(f.started_on),
            "submitted_on": _iso(f.submitted_on), "evidence": f.evidence, "verified_on": _iso(f.verified_on),
            "days_overdue": f.days_overdue(today),
            "history": [{"status": s, "on": _iso(d), "note": n} for s, d, n in f.history]}


def _duplicate_key(message: str, code: int):
    from pymongo.errors import DuplicateKeyError
    return DuplicateKeyError(message, code)
