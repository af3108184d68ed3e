"""Honours' use cases: plain functions over the store, one per command."""
from __future__ import annotations

from datetime import date

from lianxin.commands import outcomes, Settle, create_once, envelopes, intake_result, new_id, no_wait, retrying, wait_briefly
from lianxin.consumer import Result
from lianxin.errors import NotFound
from lianxin.replies import existing
from lianxin.store import fingerprint, is_duplicate_key

from . import domain
from .store import HonoursStore

SOURCE = "honours"


def _events(events) -> list[dict]:
    return envelopes(events, source=SOURCE)


def _category(store: HonoursStore, category_id: str) -> domain.Category:
    category = store.get_category(category_id)
    if category is None:
        raise NotFound(f"honour category {category_id!r} does not exist",
                       {"category_id": [f"unknown category {category_id!r}"]})
    return category


def create_category(store: HonoursStore, command: dict) -> dict:
    category_id = command.get("id") or new_id()

    def create():
        category, events = domain.create_category(category_id, command)
        store.add_category(category, fingerprint(command), _events(events))
        return category_view(category)

    return create_once(load=lambda: store.category_doc(category_id), fingerprint=fingerprint(command),
                       create=create, view=lambda doc: category_view(store.category(doc)))


def get_category(store: HonoursStore, category_id: str) -> dict:
    return existing(category_view(_category(store, category_id)))


def nominate(store: HonoursStore, command: dict, today: date, settle: Settle = wait_briefly) -> dict:
    nomination_id = command.get("id") or new_id()
    settle(lambda: store.view.is_known(command["nominee_id"]) or store.view.member(command["nominee_id"]) is not None)

    def create():
        def run():
            category = _category(store, command["category_id"])
            roll = store.get_roll(category.id, command["year"])
            _not_taken_meanwhile(roll, nomination_id)
            updated, events = domain.nominate(roll or domain.Roll(category.id, command["year"]), nomination_id,
                                              command, category, store.view, store.eligibility, today)
            store.save_roll(roll, updated, _events(events), request=(nomination_id, fingerprint(command)))
            return nomination_view(updated.nominations[nomination_id])
        return retrying(run)

    def view(doc):
        return nomination_view(store.roll_of(nomination_id).nominations[nomination_id])

    return create_once(load=lambda: store.nomination_request(nomination_id), fingerprint=fingerprint(command),
                       create=create, view=view)


def _not_taken_meanwhile(roll: domain.Roll | None, nomination_id: str) -> None:
    """The same nomination created at the same moment elsewhere (another
    instance took a redelivery, a client sent it twice): the roll read again
    after a lost race has it. Answered as a repeat by create_once (200, or 409
    with another body), not refused by the rules as a second nomination."""
    if roll is not None and nomination_id in roll.nominations:
        raise _duplicate_key(f"nomination {nomination_id!r} was created meanwhile", 11000)


def _change(store: HonoursStore, nomination_id: str, change) -> dict:
    def run():
        roll = store.roll_of(nomination_id)
        if roll is None:
            raise NotFound(f"nomination {nomination_id!r} does not exist")
        updated, events = change(roll, _category(store, roll.category_id))
        store.save_roll(roll, updated, _events(events))
        return existing(nomination_view(updated.nominations[nomination_id]))
    return retrying(run)


def decide(store: HonoursStore, nomination_id: str, command: dict, today: date) -> dict:
    return _change(store, nomination_id, lambda roll, category: domain.decide(
        roll, nomination_id, command, category, store.view, store.eligibility, today))


def object_to(store: HonoursStore, nomination_id: str, command: dict, today: date) -> dict:
    return _change(store, nomination_id, lambda roll, category: domain.object_to(roll, nomination_id, command, today))


def get_nomination(store: HonoursStore, nomination_id: str) -> dict:
    roll = store.roll_of(nomination_id)
    if roll is None:
        raise NotFound(f"nomination {nomination_id!r} does not exist")
    return existing(nomination_view(roll.nominations[nomination_id]))


def record_external(store: HonoursStore, command: dict, settle: Settle = no_wait) -> dict:
    """An honour from a higher body (intake honour_awarded)."""
    honour_id = command.get("id") or new_id()
    settle(lambda: store.view.is_known(command["nominee_id"]))
    if not (store.view.is_known(command["nominee_id"]) or store.view.member(command["nominee_id"]) is not None):
        # Before making its category: a nominee not known yet is retried, and nothing is left behind.
        raise NotFound(f"{command['nominee_id']!r} is not known (yet)",
                       {"nominee_id": [f"unknown nominee {command['nominee_id']!r}"]})
    category_id = domain.external_category_id(command["title"], command["awarding_body"])
    if store.get_category(category_id) is None:
        category, events = domain.external_category(command["title"], command["nominee_kind"],
                                                    command["awarding_body"])
        try:
            store.add_category(category, None, _events(events))
        except Exception as exc:  # noqa: BLE001 - another worker made it first
            if not is_duplicate_key(exc):
                raise

    def create():
        def run():
            category = _category(store, category_id)
            roll = store.get_roll(category_id, command["awarded_on"].year)
            _not_taken_meanwhile(roll, honour_id)
            updated, events = domain.record_external(roll or domain.Roll(category_id, command["awarded_on"].year),
                                                     honour_id, command, category, store.view)
            store.save_roll(roll, updated, _events(events), request=(honour_id, fingerprint(command)))
            return nomination_view(updated.nominations[honour_id])
        return retrying(run)

    return create_once(load=lambda: store.nomination_request(honour_id), fingerprint=fingerprint(command),
                       create=create, view=lambda doc: nomination_view(store.roll_of(honour_id).nominations[honour_id]))


def register(store: HonoursStore, unit_id: str | None, year: int | None, member_id: str | None = None) -> dict:
    """The honours register: who was honoured, for what, when, by whom."""
    units = set(store.view.subtree(unit_id)) if unit_id else None
    categories = {}
    rows = []
    for roll in store.rolls(year):
        for n in roll.nominations.values():
            if n.status != "awarded" or (units is not None and n.org_unit_id not in units) \
                    or (member_id and n.nominee_id != member_id):
                continue
            category = categories.get(n.category_id) or categories.setdefault(n.category_id,
                                                                              store.get_category(n.category_id))
            rows.append({"honour_id": n.id, "category_id": n.category_id, "category": category.name,
                         "awarding_body": category.awarding_body, "nominee_kind": n.nominee_kind,
                         "nominee_id": n.nominee_id, "org_unit_id": n.org_unit_id, "year": n.year,
                         "awarded_on": n.awarded_on.isoformat()})
    rows.sort(key=lambda r: (r["awarded_on"], r["honour_id"]))
    return existing({"org_unit_id": unit_id, "year": year, "member_id": member_id, "count": len(rows),
                     "honours": rows})


def apply_events(store: HonoursStore, events) -> list[Result]:
    return outcomes(events, store.apply_events(events))


def intake(store: HonoursStore, events) -> list[Result]:
    results = []
    for event in events:
        if event.event_type != "honour_awarded":
            results.append(Result.reject(f"honours does not take intake of {event.event_type!r}"))
            continue
        command = {**event.data}
        command.setdefault("id", event.event_id)
        results.append(intake_result(lambda: record_external(store, command)))
    return results


def _iso(day):
    return day.isoformat() if day else None


def category_view(c: domain.Category) -> dict:
    return {"id": c.id, "name": c.name, "nominee_kind": c.nominee_kind, "awarding_body": c.awarding_body,
            "yearly_quota": c.yearly_quota, "notice_days": c.notice_days,
            "exclude_overdue_rectification": c.exclude_overdue_rectification, "external": c.external}


def nomination_view(n: domain.Nomination) -> dict:
    return {"id": n.id, "category_id": n.category_id, "nominee_id": n.nominee_id, "nominee_kind": n.nominee_kind,
            "org_unit_id": n.org_unit_id, "year": n.year, "reason": n.reason, "status": n.status,
            "notice_ends_on": _iso(n.notice_ends_on), "awarded_on": _iso(n.awarded_on),
            "objections": [{**o, "raised_on": o["raised_on"].isoformat()} for o in n.objections],
            "history": [{"status": s, "on": _iso(d), "note": note} for s, d, note in n.history]}


def _duplicate_key(message: str, code: int):
    from pymongo.errors import DuplicateKeyError
    return DuplicateKeyError(message, code)
