"""Membership's use cases: plain functions over the store, one per command.

Both entry paths call these: HTTP (through the gateway's RPC) and intake
events; so the rules and the idempotency are the same on both. Each reads
the state it needs, asks the domain, and writes the result with its events
in one document write.
"""
from __future__ import annotations

from datetime import date

from lianxin.commands import create_once, envelopes, intake_result, new_id, retrying
from lianxin.consumer import Result
from lianxin.errors import Conflict, NotFound
from lianxin.personal_data import mask_id_number, mask_phone
from lianxin.replies import created, existing
from lianxin.store import fingerprint

from . import domain
from .store import MembershipStore

SOURCE = "membership"


def _events(events, correlation_id: str | None = None) -> list[dict]:
    return envelopes(events, source=SOURCE, correlation_id=correlation_id)


def _member(store: MembershipStore, member_id: str) -> domain.Member:
    member = store.get_member(member_id)
    if member is None:
        raise NotFound(f"member {member_id!r} does not exist", {"member_id": [f"unknown member {member_id!r}"]})
    return member


def _unit(store: MembershipStore, unit_id: str) -> domain.OrgUnit:
    unit = store.get_org_unit(unit_id)
    if unit is None or unit.deleted:
        raise NotFound(f"org unit {unit_id!r} does not exist")
    return unit


# -- org units --------------------------------------------------------------------

def create_org_unit(store: MembershipStore, command: dict) -> dict:
    unit_id = command.get("id") or new_id()

    def create():
        unit, events = domain.create_org_unit(unit_id, command, store.get_org_unit(command.get("parent_id")))
        store.add_org_unit(unit, fingerprint(command), _events(events))
        return org_unit_view(unit)

    return create_once(load=lambda: store.org_unit_doc(unit_id), fingerprint=fingerprint(command),
                       create=create, view=lambda doc: org_unit_view(store.org_unit(doc)))


def move_org_unit(store: MembershipStore, unit_id: str, command: dict, today: date) -> dict:
    def move():
        unit = _unit(store, unit_id)
        moved, events = domain.move_org_unit(unit, store.get_org_unit(command["parent_id"]), command, today)
        store.move_org_unit(unit, moved, command["moved_on"], _events(events))
        return existing(org_unit_view(moved, store.org_unit_history(unit_id)))
    return retrying(move)


def rename_org_unit(store: MembershipStore, unit_id: str, command: dict, today: date) -> dict:
    def rename():
        unit = _unit(store, unit_id)
        renamed, events = domain.rename_org_unit(unit, command, today)
        store.rename_org_unit(unit, renamed, command["renamed_on"], _events(events))
        return existing(org_unit_view(renamed, store.org_unit_history(unit_id)))
    return retrying(rename)


def delete_org_unit(store: MembershipStore, unit_id: str, today: date) -> dict:
    unit = _unit(store, unit_id)
    events = domain.delete_org_unit(unit, store.count_members(unit_id), store.count_children(unit_id), today,
                                    store.count_party_orgs(unit_id))
    store.delete_org_unit(unit, _events(events))
    return {"status": 204, "body": None}


def get_org_unit(store: MembershipStore, unit_id: str) -> dict:
    return existing(org_unit_view(_unit(store, unit_id), store.org_unit_history(unit_id)))


def scope_facts(store: MembershipStore, unit_ids: list, member_ids: list, link_ids: list) -> dict:
    """The path (ancestors, then itself) of each unit, of each member's unit and of
    each household link's member's unit; None for what does not exist."""
    def path(unit_id):
        unit = store.get_org_unit(unit_id) if isinstance(unit_id, str) else None
        return list(unit.path) if unit is not None else None

    def member_path(member_id):
        member = store.get_member(member_id) if isinstance(member_id, str) else None
        return path(member.org_unit_id) if member is not None else None

    def link_path(link_id):
        household = store.household_by_link(link_id) if isinstance(link_id, str) else None
        link = household.link(link_id) if household is not None else None
        return member_path(link.member_id) if link is not None else None

    return existing({"units": {u: path(u) for u in unit_ids}, "members": {m: member_path(m) for m in member_ids},
                     "links": {k: link_path(k) for k in link_ids}})


def org_unit_children(store: MembershipStore, unit_id: str) -> dict:
    _unit(store, unit_id)
    return existing([org_unit_view(u) for u in store.children(unit_id)])


def household_chart(store: MembershipStore, unit_id: str) -> dict:
    """谁联谁: the unit's members and the households each looks after now (a JSON tree)."""
    unit = _unit(store, unit_id)
    units = store.subtree_ids(unit_id)
    members = {m.id: m for m in store.members_in(units) if m.is_member}
    households: dict[str, list] = {}
    unlinked = []
    for household in store.households_in(units):
        current = household.current
        entry = {"household_id": household.id, "address": household.address}
        if current is not None and current.member_id in members:
            households.setdefault(current.member_id, []).append({**entry, "link_id": current.id,
                                                                 "linked_on": current.linked_on.isoformat()})
        else:
            unlinked.append(entry)
    return existing({
        "org_unit": org_unit_view(unit),
        "members": [{"member_id": m.id, "name": m.name, "org_unit_id": m.org_unit_id, "stage": m.stage,
                     "households": households.get(m.id, [])} for m in members.values()],
        "unlinked_households": unlinked,
        "totals": {"members": len(members), "linked_households": sum(map(len, households.values())),
                   "members_with_households": len(households)},
    })


# -- Party organisations ------------------------------------------------------------

def create_party_org(store: MembershipStore, command: dict) -> dict:
    org_id = command.get("id") or new_id()

    def create():
        org, events = domain.create_party_org(org_id, command, store.get_party_org(command.get("parent_id")),
                                              store.get_org_unit(command["org_unit_id"]))
        store.add_party_org(org, fingerprint(command), _events(events))
        return party_org_view(org)

    return create_once(load=lambda: store.party_org_doc(org_id), fingerprint=fingerprint(command),
                       create=create, view=lambda doc: party_org_view(store.party_org(doc)))


def get_party_org(store: MembershipStore, org_id: str) -> dict:
    org = store.get_party_org(org_id)
    if org is None:
        raise NotFound(f"Party organisation {org_id!r} does not exist")
    return existing(party_org_view(org))


# -- members --------------------------------------------------------------------------

def register_member(store: MembershipStore, command: dict, today: date) -> dict:
    member_id = command.get("id") or new_id()

    def create():
        member, events = domain.register_member(member_id, command, store.get_org_unit(command["org_unit_id"]),
                                                today, store.get_party_org(command.get("branch_id")))
        store.add_member(member, fingerprint(command), _events(events))
        return member_view(member)

    return create_once(load=lambda: store.member_doc(member_id), fingerprint=fingerprint(command),
                       create=create, view=lambda doc: member_view(store.member(doc)))


def get_member(store: MembershipStore, member_id: str, unmasked: bool = False) -> dict:
    return existing(member_view(_member(store, member_id), unmasked=unmasked))


def _change_member(store: MembershipStore, member_id: str, change, on: date) -> dict:
    """Read, apply a domain change, write with its events; again if raced.
    `on`: the business date of the change (when links end if the member left)."""
    def run():
        member = _member(store, member_id)
        changed, events = change(member)
        store.save_member(member, changed, _events(events))
        _end_links_if_gone(store, member, changed, on)
        return existing(member_view(changed))
    return retrying(run)


def change_stage(store: MembershipStore, member_id: str, command: dict, today: date) -> dict:
    return _change_member(store, member_id, lambda m: domain.change_stage(m, command, today), today)


def extend_probation(store: MembershipStore, member_id: str, command: dict, today: date) -> dict:
    return _change_member(store, member_id, lambda m: domain.extend_probation(m, command, today), today)


def change_status(store: MembershipStore, member_id: str, command: dict, today: date) -> dict:
    return _change_member(store, member_id, lambda m: domain.change_status(m, command, today),
                          command["effective_on"])


def issue_transfer(store: MembershipStore, member_id: str, command: dict, today: date) -> dict:
    transfer_id = command.get("id") or new_id()
    existing_owner = store.member_by_transfer(transfer_id)
    if existing_owner is not None:
        transfer = existing_owner.transfer(transfer_id)
        if existing_owner.id != member_id or transfer.to_org_unit_id != command["to_org_unit_id"] \
                or transfer.issued_on != command["issued_on"]:
            raise Conflict(f"transfer id {transfer_id!r} exists with a different body", {"id": ["taken"]})
        return existing(transfer_view(existing_owner, transfer))

    def run():
        member = _member(store, member_id)
        changed, events = domain.issue_transfer(
            member, transfer_id, command, store.get_org_unit(command["to_org_unit_id"]),
            store.get_party_org(command.get("to_branch_id")), today)
        store.save_member(member, changed, _events(events))
        return created(transfer_view(changed, changed.transfer(transfer_id)))
    return retrying(run)


def receive_transfer(store: MembershipStore, transfer_id: str, command: dict, today: date) -> dict:
    def run():
        member = store.member_by_transfer(transfer_id)
        if member is None:
            raise NotFound(f"transfer {transfer_id!r} does not exist")
        changed, events = domain.receive_transfer(member, transfer_id, command, today)
        store.save_member(member, changed, _events(events))
        _end_links_if_gone(store, member, changed, command["received_on"])
        return existing(transfer_view(changed, changed.transfer(transfer_id)))
    return retrying(run)


def get_transfer(store: MembershipStore, transfer_id: str) -> dict:
    member = store.member_by_transfer(transfer_id)
    if member is None:
        raise NotFound(f"transfer {transfer_id!r} does not exist")
    return existing(transfer_view(member, member.transfer(transfer_id)))


# -- household links ------------------------------------------------------------------

def link_household(store: MembershipStore, command: dict, today: date) -> dict:
    link_id = command.get("id") or new_id()

    def create():
        def run():
            household = store.get_household(command["household_id"])
            linked, events = domain.link_household(household, link_id, command,
                                                   store.get_member(command["member_id"]), today)
            store.save_household(household, linked, _events(events), new_link=(link_id, fingerprint(command)))
            return link_view(linked, linked.link(link_id))
        return retrying(run)

    def view(doc):
        household = store.get_household(doc["household_id"])
        return link_view(household, household.link(link_id))

    return create_once(load=lambda: store.link_doc(link_id), fingerprint=fingerprint(command),
                       create=create, view=view)


def unlink_household(store: MembershipStore, link_id: str, command: dict, today: date) -> dict:
    def run():
        household = store.household_by_link(link_id)
        if household is None:
            raise NotFound(f"household link {link_id!r} does not exist")
        changed, events = domain.unlink_household(household, link_id, command, today)
        store.save_household(household, changed, _events(events))
        return existing(link_view(changed, changed.link(link_id)))
    return retrying(run)


def _end_links_if_gone(store: MembershipStore, before: domain.Member, after: domain.Member, on: date) -> None:
    """A member who left, or moved to another unit, no longer looks after its households.

    This is a second write after the member's; if it is interrupted, the
    daily job finishes it (end_stale_links), so no link outlives its member."""
    if after.is_member and after.org_unit_id == before.org_unit_id:
        return
    for household in store.households_of_member(after.id):
        _end_link(store, household, after, on)


def _end_link(store: MembershipStore, household: domain.Household, member: domain.Member, on: date) -> bool:
    current = household.current
    if current is None or current.member_id != member.id:
        return False
    reason = (f"member {member.status}" if not member.is_member
              else f"member transferred to {member.org_unit_id}")
    unlink_on = max(on, current.linked_on)
    changed, events = domain.unlink_household(household, current.id, {"unlinked_on": unlink_on, "reason": reason},
                                              unlink_on)
    store.save_household(household, changed, _events(events))
    return True


# -- the daily job ------------------------------------------------------------------------

def daily(store: MembershipStore, today: date) -> dict:
    """Expire overdue transfer letters, announce political birthdays, end
    links of members who have gone. Idempotent: run it as often as you like."""
    counts = {"transfers_expired": 0, "birthdays_due": 0, "links_ended": 0}

    def step_for(member_id: str, step) -> int:
        def run():
            current = _member(store, member_id)
            changed, events = step(current, today)
            if events:
                store.save_member(current, changed, _events(events))
            return len(events)
        return retrying(run)

    # Letters expire whatever became of the member; birthdays are for members.
    for member_id in store.members_with_open_transfers():
        counts["transfers_expired"] += step_for(member_id, domain.expire_transfer)
    for member_id in store.current_member_ids():
        counts["birthdays_due"] += step_for(member_id, domain.political_birthday_due)
    counts["links_ended"] = end_stale_links(store, today)
    return counts


def end_stale_links(store: MembershipStore, today: date) -> int:
    """End links whose member has left or now belongs to another unit."""
    ended = 0
    for household in store.households_with_links():
        member = store.get_member(household.current.member_id)
        if member is None or (member.is_member and member.org_unit_id == household.org_unit_id):
            continue
        ended += _end_link(store, household, member, domain.left_unit_on(member, household.org_unit_id) or today)
    return ended


# -- intake -------------------------------------------------------------------------------

def intake(store: MembershipStore, events, today: date) -> list[Result]:
    """Apply intake envelopes; the event id is the client id unless data names one."""
    results = []
    for event in events:
        command = dict(event.data)
        if event.event_type == "member_registered":
            command.setdefault("id", event.event_id)
            results.append(intake_result(lambda: register_member(store, command, today)))
        elif event.event_type == "household_linked":
            command.setdefault("id", event.event_id)
            results.append(intake_result(lambda: link_household(store, command, today)))
        elif event.event_type == "member_stage_changed":
            results.append(intake_result(lambda: _stage_change_once(store, event.event_id, command, today)))
        else:
            results.append(Result.reject(f"membership does not take intake of {event.event_type!r}"))
    return results


def _stage_change_once(store: MembershipStore, event_id: str, command: dict, today: date) -> dict:
    """A stage change from intake, applied once per event id (kept on the member)."""
    member = _member(store, command["member_id"])
    if event_id in store.applied_events(member.id):
        return existing(member_view(member))
    def run():
        current = _member(store, command["member_id"])
        changed, events = domain.change_stage(current, command, today)
        store.save_member(current, changed, _events(events), applied_event=event_id)
        return created(member_view(changed))
    return retrying(run)


# -- views (what the API returns) ---------------------------------------------

def org_unit_view(unit: domain.OrgUnit, history: list | None = None) -> dict:
    view = {"id": unit.id, "name": unit.name, "level": unit.level, "parent_id": unit.parent_id,
            "path": list(unit.path)}
    if history is not None:
        view["history"] = history
    return view


def party_org_view(org: domain.PartyOrg) -> dict:
    return {"id": org.id, "name": org.name, "kind": org.kind, "parent_id": org.parent_id,
            "org_unit_id": org.org_unit_id}


def _iso(day):
    return day.isoformat() if day else None


def member_view(member: domain.Member, unmasked: bool = False) -> dict:
    return {
        "id": member.id, "name": member.name, "gender": member.gender,
        "birth_date": member.birth_date.isoformat(), "org_unit_id": member.org_unit_id,
        "branch_id": member.branch_id, "stage": member.stage, "stage_since": member.stage_since.isoformat(),
        "admitted_on": _iso(member.admitted_on), "probation_ends_on": _iso(member.probation_ends_on),
        "probation_extended": member.probation_extended,
        "status": member.status, "status_since": _iso(member.status_since),
        "id_number": member.id_number if unmasked else mask_id_number(member.id_number),
        "phone": member.phone if unmasked else mask_phone(member.phone),
        "stage_history": [{"stage": s, "since": d.isoformat()} for s, d in member.stage_history],
        "status_history": [{"status": s, "since": d.isoformat(), "reason": r} for s, d, r in member.status_history],
        "transfers": [transfer_view(member, t)["transfer"] for t in member.transfers],
    }


def transfer_view(member: domain.Member, transfer: domain.Transfer) -> dict:
    return {"id": transfer.id, "member_id": member.id, "transfer": {
        "id": transfer.id, "from_org_unit_id": transfer.from_org_unit_id, "to_org_unit_id": transfer.to_org_unit_id,
        "from_branch_id": transfer.from_branch_id, "to_branch_id": transfer.to_branch_id,
        "issued_on": transfer.issued_on.isoformat(), "valid_until": transfer.valid_until.isoformat(),
        "state": transfer.state, "closed_on": _iso(transfer.closed_on)}}


def link_view(household: domain.Household, link: domain.Link) -> dict:
    return {"id": link.id, "member_id": link.member_id, "household_id": household.id,
            "org_unit_id": household.org_unit_id, "address": household.address,
            "linked_on": link.linked_on.isoformat(), "unlinked_on": _iso(link.unlinked_on), "reason": link.reason}
