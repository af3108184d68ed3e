"""Membership's use cases: plain functions over the store, one per command.

Both entry paths call these: HTTP (through the gateway's RPC) and intake
events; so the rules and the idempotency are the same on both.
"""
from __future__ import annotations

from datetime import date

from lianxin.commands import create_once, envelopes, intake_result, new_id
from lianxin.consumer import Result
from lianxin.errors import NotFound
from lianxin.personal_data import mask_id_number, mask_phone
from lianxin.store import fingerprint

from . import domain
from .store import MembershipStore

SOURCE = "membership"


def create_org_unit(store: MembershipStore, command: dict) -> dict:
    unit_id = command.get("id") or new_id()

    def create():
        unit, events = domain.create_org_unit(unit_id, command, store.get_org_unit(command.get("parent_id")))
        store.add_org_unit(unit, fingerprint(command), envelopes(events, source=SOURCE))
        return org_unit_view(unit)

    return create_once(load=lambda: store.org_unit_doc(unit_id), fingerprint=fingerprint(command),
                       create=create, view=lambda doc: org_unit_view(store._org_unit(doc)))


def register_member(store: MembershipStore, command: dict, today: date) -> dict:
    member_id = command.get("id") or new_id()

    def create():
        member, events = domain.register_member(member_id, command, store.get_org_unit(command["org_unit_id"]), today)
        store.add_member(member, fingerprint(command), envelopes(events, source=SOURCE))
        return member_view(member)

    return create_once(load=lambda: store.member_doc(member_id), fingerprint=fingerprint(command),
                       create=create, view=lambda doc: member_view(store._member(doc)))


def get_org_unit(store: MembershipStore, unit_id: str) -> dict:
    unit = store.get_org_unit(unit_id)
    if unit is None:
        raise NotFound(f"org unit {unit_id!r} does not exist")
    return org_unit_view(unit)


def org_unit_children(store: MembershipStore, unit_id: str) -> list[dict]:
    get_org_unit(store, unit_id)
    return [org_unit_view(u) for u in store.children(unit_id)]


def get_member(store: MembershipStore, member_id: str, unmasked: bool = False) -> dict:
    member = store.get_member(member_id)
    if member is None:
        raise NotFound(f"member {member_id!r} does not exist")
    return member_view(member, unmasked=unmasked)


def intake(store: MembershipStore, events, today: date) -> list[Result]:
    """Apply intake envelopes; the event id is the client id unless data names one."""
    commands = {"member_registered": lambda cmd: register_member(store, cmd, today)}
    results = []
    for event in events:
        command = dict(event.data)
        command.setdefault("id", event.event_id)
        results.append(intake_result(lambda: commands[event.event_type](command)))
    return results


# -- views (what the API returns) ---------------------------------------------

def org_unit_view(unit: domain.OrgUnit) -> dict:
    return {"id": unit.id, "name": unit.name, "level": unit.level, "parent_id": unit.parent_id,
            "path": list(unit.path)}


def member_view(member: domain.Member, unmasked: bool = False) -> dict:
    return {
        "id": member.id, "name": member.name, "gender": member.gender,
        "birth_date": member.birth_date.isoformat(), "org_unit_id": member.org_unit_id,
        "stage": member.stage, "stage_since": member.stage_since.isoformat(),
        "admitted_on": member.admitted_on.isoformat() if member.admitted_on else None,
        "status": member.status,
        "id_number": member.id_number if unmasked else mask_id_number(member.id_number),
        "phone": member.phone if unmasked else mask_phone(member.phone),
        "stage_history": [{"stage": s, "since": d.isoformat()} for s, d in member.stage_history],
    }
