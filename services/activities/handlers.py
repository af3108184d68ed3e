"""Activities' use cases: plain functions over the store, one per command.

HTTP (through the gateway's RPC) and intake call the same functions. A member
or unit registered a moment ago may not have reached this service's view of
membership yet (DESIGN.md rule 7): HTTP commands wait a little for it
(`settle`), intake events go through the retry tiers instead.
"""
from __future__ import annotations

from datetime import date

from lianxin.commands import (outcomes, Settle, create_once, envelopes, intake_result, new_id, no_wait, repeat_result,
                              retrying, wait_briefly)
from lianxin.consumer import Result
from lianxin.errors import NotFound, StaleWrite
from lianxin.replies import created, existing
from lianxin.store import fingerprint

from . import domain
from .store import ActivitiesStore

SOURCE = "activities"
def _events(events) -> list[dict]:
    return envelopes(events, source=SOURCE)


def _settle_members(store: ActivitiesStore, member_ids, settle: Settle) -> None:
    ids = [m for m in member_ids if m]
    settle(lambda: all(store.view.member(m) is not None for m in ids))


def _settle_unit(store: ActivitiesStore, unit_id: str | None, settle: Settle) -> None:
    if unit_id:
        settle(lambda: store.view.is_known(unit_id))


# -- activities --------------------------------------------------------------------------

def schedule_activity(store: ActivitiesStore, command: dict, settle: Settle = wait_briefly) -> dict:
    activity_id = command.get("id") or new_id()
    _settle_unit(store, command["org_unit_id"], settle)

    def create():
        session = store.next_session_no(command["series"]) if command.get("series") else None
        activity, events = domain.schedule_activity(activity_id, command, store.view, session)
        store.add_activity(activity, fingerprint(command), _events(events))
        return activity_view(activity)

    return create_once(load=lambda: store.activity_doc(activity_id), fingerprint=fingerprint(command),
                       create=create, view=lambda doc: activity_view(store.activity(doc)))


def record_activity(store: ActivitiesStore, activity_id: str, command: dict, today: date,
                    settle: Settle = wait_briefly) -> dict:
    _settle_members(store, list(command["attendee_ids"]) + [a["member_id"] for a in command.get("absentees", [])]
                    + [s.get("member_id") for s in command.get("speakers", [])], settle)

    def run():
        activity = _activity(store, activity_id)
        held, events = domain.record_activity(activity, command, store.view, today)
        store.save_activity(activity, held, _events(events))
        return existing(activity_view(held))
    return retrying(run)


def hold_activity(store: ActivitiesStore, command: dict, today: date, settle: Settle = no_wait) -> dict:
    """Scheduled and recorded in one (intake `activity_held`): one document, both events."""
    activity_id = command.get("id") or new_id()
    _settle_unit(store, command["org_unit_id"], settle)
    _settle_members(store, command["attendee_ids"], settle)

    def create():
        schedule = {**command, "scheduled_for": command.get("scheduled_for") or command["held_on"]}
        session = store.next_session_no(command["series"]) if command.get("series") else None
        activity, scheduled = domain.schedule_activity(activity_id, schedule, store.view, session)
        held, recorded = domain.record_activity(activity, command, store.view, today)
        store.add_activity(held, fingerprint(command), _events(scheduled + recorded))
        return activity_view(held)

    return create_once(load=lambda: store.activity_doc(activity_id), fingerprint=fingerprint(command),
                       create=create, view=lambda doc: activity_view(store.activity(doc)))


def cancel_activity(store: ActivitiesStore, activity_id: str, command: dict, today: date) -> dict:
    def run():
        activity = _activity(store, activity_id)
        cancelled, events = domain.cancel_activity(activity, command, today)
        store.save_activity(activity, cancelled, _events(events))
        return existing(activity_view(cancelled))
    return retrying(run)


def get_activity(store: ActivitiesStore, activity_id: str) -> dict:
    return existing(activity_view(_activity(store, activity_id)))


def _activity(store: ActivitiesStore, activity_id: str) -> domain.Activity:
    activity = store.get_activity(activity_id)
    if activity is None:
        raise NotFound(f"activity {activity_id!r} does not exist")
    return activity


# -- obligations ------------------------------------------------------------------------------

def set_obligation(store: ActivitiesStore, command: dict, settle: Settle = wait_briefly) -> dict:
    _settle_unit(store, command.get("org_unit_id"), settle)
    events = domain.set_obligation(command, store.view)
    retrying(lambda: store.set_obligation_rule(command, _events(events)))
    return existing({"kind": command["kind"], "frequency": command["frequency"],
                     "org_unit_id": command.get("org_unit_id")})


def obliged_units(store: ActivitiesStore, unit_ids: list[str]) -> list[str]:
    """Units with a Party organisation that owes 三会一课 (committee, general branch, branch)."""
    return domain.obliged_units(store.view, unit_ids)


def compliance(store: ActivitiesStore, unit_id: str, start: date, end: date, today: date,
               settle: Settle = wait_briefly) -> dict:
    """Per obliged unit of the subtree, kind and period: due, held, and missed
    (nothing held in a period that has closed). Nothing is due before OBLIGATIONS_FROM."""
    _settle_unit(store, unit_id, settle)
    if not store.view.is_known(unit_id):
        raise NotFound(f"org unit {unit_id!r} does not exist", {"org_unit_id": [f"unknown org unit {unit_id!r}"]})
    rules = store.obligation_rules()
    rows = []
    start, end = max(start, store.obligations_from), min(end, domain.horizon(today))
    for unit in obliged_units(store, store.view.subtree(unit_id)) if start <= end else ():
        for item in domain.compliance(unit, domain.frequencies_for(unit, rules), store.held_dates(unit), start, end):
            rows.append({"org_unit_id": unit, "kind": item.kind, "period": item.period.label,
                         "period_start": item.period.start.isoformat(), "period_end": item.period.end.isoformat(),
                         "due": 1, "held": item.held, "missed": item.missed and item.period.end < today})
    return existing({"org_unit_id": unit_id, "from": start.isoformat(), "to": end.isoformat(),
                     "due": len(rows), "held": sum(1 for r in rows if r["held"]),
                     "missed": sum(1 for r in rows if r["missed"]), "obligations": rows})


def announce_missed(store: ActivitiesStore, today: date) -> int:
    """The daily job: obligation_missed once per unit, kind and closed period."""
    rules, already = store.obligation_rules(), store.missed_keys()
    new = []
    for unit in obliged_units(store, [u for u in store.view.known_units()]):
        events = domain.missed_obligations(unit, domain.frequencies_for(unit, rules), store.held_dates(unit),
                                           store.obligations_from, today)
        for event in events:
            key = f"{unit}:{event.data['kind']}:{event.data['period']}"
            if key not in already:
                new.append((key, _events([event])[0]))
    return store.record_missed(new) if new else 0


# -- appraisals ---------------------------------------------------------------------------------

def grade_member(store: ActivitiesStore, command: dict, today: date, settle: Settle = wait_briefly) -> dict:
    _settle_members(store, [command["member_id"]], settle)

    def run():
        facts = store.view.member(command["member_id"])
        unit = domain.branch_unit(store.view, facts.unit_on(domain.appraisal_day(command["year"], today))) \
            if facts and facts.registration else None
        sheet = store.get_sheet(unit, command["year"]) if unit else None
        updated, events = domain.grade_member(sheet, command, store.view, today)
        store.save_sheet(sheet, updated, _events(events))
        return created({"member_id": command["member_id"], "year": command["year"], "grade": command["grade"],
                        "org_unit_id": updated.org_unit_id})
    return retrying(run)


def appraisal_sheet(store: ActivitiesStore, unit_id: str, year: int) -> dict:
    sheet = store.get_sheet(unit_id, year)
    grades = sheet.grades if sheet else {}
    counts = {g: sum(1 for v in grades.values() if v == g) for g in ("excellent", "qualified",
                                                                     "basically_qualified", "unqualified")}
    return existing({"org_unit_id": unit_id, "year": year, "grades": grades, "counts": counts})


# -- deeds ----------------------------------------------------------------------------------------

def record_deed(store: ActivitiesStore, command: dict, today: date, settle: Settle = wait_briefly) -> dict:
    deed_id = command.get("id") or new_id()
    command = {**command, "id": deed_id}
    _settle_members(store, [command["member_id"]], settle)

    def attempt():
        # The week is read with its rev and written back only if still at it:
        # another instance recording a deed of the same member-week meanwhile
        # makes this a StaleWrite, computed again from a fresh read.
        weeks = store.points_by_week([(command["member_id"], command["done_on"])])
        earned = weeks.earned(command["member_id"], command["category"], command["done_on"], excluding=deed_id)
        points = domain.deed_points(command["category"], store.points_rules, earned)
        deed, events = domain.record_deed(deed_id, command, store.view, today, points)
        inserted, stale = store.add_deeds([(deed, fingerprint(command), _events(events))], weeks)
        if stale:
            raise StaleWrite(f"the week of member {deed.member_id!r} changed meanwhile; try again")
        if not inserted:
            raise _duplicate_key()
        return deed_view(deed)

    return create_once(load=lambda: store.deed_doc(deed_id), fingerprint=fingerprint(command),
                       create=lambda: retrying(attempt), view=lambda doc: deed_view(store.deed(doc)))


WEEK_ATTEMPTS = 3   # a batch's deeds whose member-week another writer changed meanwhile: computed again


def record_deeds(store: ActivitiesStore, commands: list[dict], today: date) -> list[Result]:
    """Deed intakes of one batch (each command with its id): one read of the
    deeds and one of their member-weeks for the whole batch, one write of the
    new deeds with their events. Each command's outcome is what record_deed
    would give it taken one after another: a deed earlier in the batch counts
    towards the weekly cap of a later one, a repeated id is a duplicate (or a
    conflict, with another body).

    The weekly cap holds across instances: the deeds of a member-week that
    another writer changed since it was read (see ActivitiesStore.add_deeds)
    are taken again from a fresh read, up to WEEK_ATTEMPTS times, then retried
    through the retry tiers."""
    results: list[Result | None] = [None] * len(commands)
    pending = list(range(len(commands)))
    for _ in range(WEEK_ATTEMPTS):
        pending = _record_deeds_once(store, commands, pending, today, results)
        if not pending:
            break
    for i in pending:
        results[i] = Result.retry(f"the week of member {commands[i]['member_id']!r} kept changing meanwhile")
    return results


def _record_deeds_once(store: ActivitiesStore, all_commands: list[dict], positions: list[int], today: date,
                       out: list) -> list[int]:
    """record_deeds for the commands at `positions`; sets their results in
    `out` and returns the positions whose week changed meanwhile."""
    commands = [all_commands[i] for i in positions]
    results: list[Result | None] = [None] * len(commands)
    stored = store.deed_docs([c["id"] for c in commands])
    weeks = store.points_by_week([(c["member_id"], c["done_on"]) for c in commands])
    taken = {deed_id: doc.get("request_hash") for deed_id, doc in stored.items()}
    new = []                                    # (position, deed, fingerprint, envelopes)
    for i, command in enumerate(commands):
        deed_id, print_ = command["id"], fingerprint(command)
        if deed_id in taken:
            results[i] = repeat_result({"_id": deed_id, "request_hash": taken[deed_id]}, print_)
            continue
        prepared = []

        def prepare(command=command, deed_id=deed_id):
            earned = weeks.earned(command["member_id"], command["category"], command["done_on"], excluding=deed_id)
            points = domain.deed_points(command["category"], store.points_rules, earned)
            deed, events = domain.record_deed(deed_id, command, store.view, today, points)
            prepared.append((deed, _events(events)))
            return created(None)
        results[i] = intake_result(prepare)
        if prepared:
            deed, envs = prepared[0]
            weeks.add(deed.member_id, deed.category, deed.done_on, deed.points)
            taken[deed_id] = print_
            new.append((i, deed, print_, envs))
    inserted, stale = store.add_deeds([(deed, print_, envs) for _, deed, print_, envs in new], weeks) \
        if new else (set(), set())
    again = []
    for i, deed, print_, _ in new:
        if deed.id in stale:                    # its week changed meanwhile: computed again
            again.append(i)
        elif deed.id not in inserted:           # stored meanwhile by another instance
            results[i] = repeat_result(store.deed_doc(deed.id), print_)
    retried = set(again)
    for i, result in enumerate(results):
        if i not in retried:
            out[positions[i]] = result
    return [positions[i] for i in again]


def _duplicate_key():
    from pymongo.errors import DuplicateKeyError
    return DuplicateKeyError("deed id taken meanwhile", 11000)


def decide_deed(store: ActivitiesStore, deed_id: str, command: dict, today: date) -> dict:
    def run():
        deed = store.get_deed(deed_id)
        if deed is None:
            raise NotFound(f"deed {deed_id!r} does not exist")
        decided, events = domain.decide_deed(deed, command, today)
        store.save_deed(deed, decided, _events(events))
        return existing(deed_view(decided))
    return retrying(run)


def get_deed(store: ActivitiesStore, deed_id: str) -> dict:
    deed = store.get_deed(deed_id)
    if deed is None:
        raise NotFound(f"deed {deed_id!r} does not exist")
    return existing(deed_view(deed))


def weekly_deeds(store: ActivitiesStore, unit_id: str, week: str, settle: Settle = wait_briefly) -> dict:
    """Deeds per member for one ISO week, and who has done none (一周一件小事)."""
    _settle_unit(store, unit_id, settle)
    if not store.view.is_known(unit_id):
        raise NotFound(f"org unit {unit_id!r} does not exist", {"org_unit_id": [f"unknown org unit {unit_id!r}"]})
    start, end = domain.week_bounds(week)
    units = store.view.subtree(unit_id)
    members = store.view.members_on(units, end)
    counts = dict.fromkeys(members, 0)
    # By member, wherever the deed was recorded: one who transferred in mid-week
    # brings the deeds done before the move.
    for deed in store.deeds_of(members, week):
        if deed.status != "disputed":
            counts[deed.member_id] += 1
    return existing({
        "org_unit_id": unit_id, "week": week, "from": start.isoformat(), "to": end.isoformat(),
        "deeds": sum(counts.values()),
        "members": [{"member_id": m, "name": store.view.member(m).name if store.view.member(m) else None,
                     "deeds": n} for m, n in sorted(counts.items())],
        "members_without_deeds": sorted(m for m, n in counts.items() if n == 0 and m in members),
    })


# -- cases --------------------------------------------------------------------------------------

def open_case(store: ActivitiesStore, command: dict, today: date, settle: Settle = wait_briefly) -> dict:
    case_id = command.get("id") or new_id()
    _settle_unit(store, command["org_unit_id"], settle)

    def create():
        case, events = domain.open_case(case_id, command, store.view, today)
        store.add_case(case, fingerprint(command), _events(events))
        return case_view(case)

    return create_once(load=lambda: store.case_doc(case_id), fingerprint=fingerprint(command),
                       create=create, view=lambda doc: case_view(store.case(doc)))


def _case_change(store: ActivitiesStore, case_id: str, change, applied_event: str | None = None) -> dict:
    def run():
        case = store.get_case(case_id)
        if case is None:
            raise NotFound(f"case {case_id!r} does not exist", {"case_id": [f"unknown case {case_id!r}"]})
        if applied_event and applied_event in store.case_applied_events(case_id):
            return existing(case_view(case))
        changed, events = change(case)
        store.save_case(case, changed, _events(events), applied_event)
        return (created if applied_event else existing)(case_view(changed))
    return retrying(run)


def start_case(store: ActivitiesStore, case_id: str, command: dict, today: date) -> dict:
    return _case_change(store, case_id, lambda c: domain.start_case(c, command, today))


def resolve_case(store: ActivitiesStore, case_id: str, command: dict, today: date,
                 applied_event: str | None = None) -> dict:
    return _case_change(store, case_id, lambda c: domain.resolve_case(c, command, today), applied_event)


def close_case(store: ActivitiesStore, case_id: str, command: dict, today: date) -> dict:
    return _case_change(store, case_id, lambda c: domain.close_case(c, command, today))


def get_case(store: ActivitiesStore, case_id: str) -> dict:
    case = store.get_case(case_id)
    if case is None:
        raise NotFound(f"case {case_id!r} does not exist")
    return existing(case_view(case))


# -- events in: membership's facts, and intake ---------------------------------------------

def apply_membership_events(store: ActivitiesStore, events) -> list[Result]:
    return outcomes(events, store.apply_membership_events(events))


def intake(store: ActivitiesStore, events, today: date) -> list[Result]:
    """Apply intake envelopes; the event id is the client id unless data names one."""
    results: list[Result | None] = []
    deeds = []                                  # (position, command): recorded together
    for event in events:
        command = dict(event.data)
        if event.event_type == "deed_recorded":
            command.setdefault("id", event.event_id)
            deeds.append((len(results), command))
            results.append(None)
        elif event.event_type == "activity_held":
            command.setdefault("id", event.event_id)
            results.append(intake_result(lambda: hold_activity(store, command, today, settle=no_wait)))
        elif event.event_type == "case_opened":
            command.setdefault("id", event.event_id)
            results.append(intake_result(lambda: open_case(store, command, today, settle=no_wait)))
        elif event.event_type == "case_resolved":
            case_id = command.pop("case_id")
            results.append(intake_result(lambda: resolve_case(store, case_id, command, today,
                                                              applied_event=event.event_id)))
        else:
            results.append(Result.reject(f"activities does not take intake of {event.event_type!r}"))
    if deeds:
        for (position, _), result in zip(deeds, record_deeds(store, [c for _, c in deeds], today)):
            results[position] = result
    return results


# -- views ----------------------------------------------------------------------------------------

def _iso(day):
    return day.isoformat() if day else None


def activity_view(a: domain.Activity) -> dict:
    return {"id": a.id, "kind": a.kind, "series": a.series, "session_no": a.session_no, "title": a.title,
            "org_unit_id": a.org_unit_id, "scheduled_for": a.scheduled_for.isoformat(), "status": a.status,
            "held_on": _iso(a.held_on), "attendee_ids": list(a.attendee_ids), "absentees": list(a.absentees),
            "speakers": list(a.speakers), "minutes": a.minutes, "expected": a.expected,
            "cancelled_on": _iso(a.cancelled_on), "cancel_reason": a.cancel_reason}


def deed_view(d: domain.Deed) -> dict:
    return {"id": d.id, "member_id": d.member_id, "household_id": d.household_id, "org_unit_id": d.org_unit_id,
            "done_on": d.done_on.isoformat(), "week": domain.iso_week(d.done_on), "category": d.category,
            "description": d.description, "recorded_by": d.recorded_by, "points": d.points, "status": d.status,
            "decided_on": _iso(d.decided_on), "note": d.note}


def case_view(c: domain.Case) -> dict:
    return {"id": c.id, "kind": c.kind, "org_unit_id": c.org_unit_id, "opened_on": c.opened_on.isoformat(),
            "summary": c.summary, "owner": c.owner, "team": c.team, "campaign": c.campaign, "status": c.status,
            "started_on": _iso(c.started_on), "resolved_on": _iso(c.resolved_on), "outcome": c.outcome,
            "closed_on": _iso(c.closed_on), "close_reason": c.close_reason}

