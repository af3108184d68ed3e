"""Every endpoint's access rule: its family, who else may use it, and where
the org units it touches are found, so role and scope are checked before
anything is forwarded.

One table, keyed by the gateway handler's name; a handler without a rule
cannot be served (tests/unit/test_guard.py checks every handler has one).
The checks need facts from the services (where a member sits, which unit a
finding belongs to); they come through `ask(service, method, *args)`, so
this module stays free of nameko and is tested with a fake.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from lianxin.access import (
    ACTIVITIES, DOCUMENTATION, EVENTS, HONOURS, INSPECTIONS, MEMBERSHIP, OPERATIONS, PUBLISHER, READ, REPORTS,
    SECRETARY, WRITE, Forbidden, Principal,
)


@dataclass(frozen=True)
class Units:
    """Where a request names org units. `kind` says what the value is:
    unit (an org unit id, or a list of them), member, link (a household link),
    nominee (an org unit, else a member); or resource: the id of a thing that
    `lookup` (service, get-method) returns, whose `fields` hold unit ids."""
    source: str                      # path | body | query
    name: str
    kind: str = "unit"
    lookup: tuple[str, str] | None = None
    fields: tuple[str, ...] = ("org_unit_id",)
    any_of: bool = False             # resource: one of its units in scope is enough (a transfer)
    top_if_absent: bool = False      # absent means the whole tree (a unit with no parent);
                                     # else absent names no unit (and validation says if it must)


@dataclass(frozen=True)
class Rule:
    family: str | None               # None: public (no token needed)
    units: tuple[Units, ...] = ()
    also: frozenset = frozenset()    # roles granted this endpoint beyond their families
    personal: bool = False           # may answer with ID numbers and phones


def _r(family, *units, also=(), personal=False) -> Rule:
    return Rule(family, tuple(units), frozenset(also), personal)


def path_unit(name="unit_id"):
    return Units("path", name)


def body_unit(name="org_unit_id", top_if_absent=False):
    return Units("body", name, top_if_absent=top_if_absent)


def query_unit(name="org_unit_id"):
    return Units("query", name)


def member(source, name="member_id"):
    return Units(source, name, "member")


def resource(name, service, method, fields=("org_unit_id",), any_of=False):
    return Units("path", name, "resource", (service, method), tuple(fields), any_of)


MEMBER = resource("member_id", "membership", "get_member")
ACTIVITY = resource("activity_id", "activities", "get_activity")
DEED = resource("deed_id", "activities", "get_deed")
CASE = resource("case_id", "activities", "get_case")
ROUND = resource("round_id", "inspections", "get_round", ("scope_org_unit_ids",))
FINDING = resource("finding_id", "inspections", "get_finding")
NOMINATION = resource("nomination_id", "honours", "get_nomination")
TRANSFER = resource("transfer_id", "membership", "get_transfer",
                    ("transfer.from_org_unit_id", "transfer.to_org_unit_id"), any_of=True)
RECEIVING = resource("transfer_id", "membership", "get_transfer", ("transfer.to_org_unit_id",))
PARTY_ORG = resource("org_id", "membership", "get_party_org")
KEY = resource("key_id", "gateway", "get_key", ("scope_unit_id",))

# The writes another system may also send through lianxin.intake (the catalog's
# intake commands): all an external publisher may do over HTTP.
INTAKE = {PUBLISHER}

RULES: dict[str, Rule] = {
    # operations and documentation
    "metrics": _r(OPERATIONS),
    "openapi": _r(DOCUMENTATION),
    "rejections": _r(OPERATIONS),
    "issue_key": _r(OPERATIONS, body_unit("scope_unit_id", top_if_absent=True)),
    "list_keys": _r(OPERATIONS),
    "revoke_key": _r(OPERATIONS, KEY),
    "audit_log": _r(OPERATIONS),
    # membership
    "create_org_unit": _r(MEMBERSHIP, body_unit("parent_id", top_if_absent=True)),
    "get_org_unit": _r(MEMBERSHIP, path_unit()),
    "delete_org_unit": _r(MEMBERSHIP, path_unit()),
    "org_unit_children": _r(MEMBERSHIP, path_unit()),
    "move_org_unit": _r(MEMBERSHIP, path_unit(), body_unit("parent_id")),
    "rename_org_unit": _r(MEMBERSHIP, path_unit()),
    "household_chart": _r(MEMBERSHIP, path_unit()),
    "create_party_org": _r(MEMBERSHIP, body_unit()),
    "get_party_org": _r(MEMBERSHIP, PARTY_ORG),
    "register_member": _r(MEMBERSHIP, body_unit(), also=INTAKE),
    "get_member": _r(MEMBERSHIP, MEMBER, personal=True),
    "change_stage": _r(MEMBERSHIP, MEMBER, also=INTAKE),
    "extend_probation": _r(MEMBERSHIP, MEMBER),
    "change_status": _r(MEMBERSHIP, MEMBER),
    "issue_transfer": _r(MEMBERSHIP, MEMBER),
    "get_transfer": _r(MEMBERSHIP, TRANSFER),
    "receive_transfer": _r(MEMBERSHIP, RECEIVING),
    "link_household": _r(MEMBERSHIP, member("body"), also=INTAKE),
    "unlink_household": _r(MEMBERSHIP, Units("path", "link_id", "link")),
    # activities
    "schedule_activity": _r(ACTIVITIES, body_unit(), also=INTAKE),
    "get_activity": _r(ACTIVITIES, ACTIVITY),
    "record_activity": _r(ACTIVITIES, ACTIVITY, also=INTAKE),
    "cancel_activity": _r(ACTIVITIES, ACTIVITY),
    "set_obligation": _r(ACTIVITIES, body_unit(top_if_absent=True)),
    "compliance": _r(ACTIVITIES, query_unit()),
    "grade_member": _r(ACTIVITIES, member("body")),
    "appraisal_sheet": _r(ACTIVITIES, path_unit()),
    "record_deed": _r(ACTIVITIES, member("body"), also=INTAKE),
    "get_deed": _r(ACTIVITIES, DEED),
    "decide_deed": _r(ACTIVITIES, DEED),
    "weekly_deeds": _r(ACTIVITIES, path_unit()),
    "open_case": _r(ACTIVITIES, body_unit(), also=INTAKE),
    "get_case": _r(ACTIVITIES, CASE),
    "start_case": _r(ACTIVITIES, CASE),
    "resolve_case": _r(ACTIVITIES, CASE, also=INTAKE),
    "close_case": _r(ACTIVITIES, CASE),
    # inspections: checklists are street-wide templates, not any unit's
    "create_checklist": _r(INSPECTIONS),
    "get_checklist": _r(INSPECTIONS),
    "revise_checklist": _r(INSPECTIONS),
    "open_round": _r(INSPECTIONS, body_unit("scope_org_unit_ids")),
    "get_round": _r(INSPECTIONS, ROUND),
    "close_round": _r(INSPECTIONS, ROUND),
    "round_ranking": _r(INSPECTIONS, ROUND),
    "round_unit": _r(INSPECTIONS, path_unit()),
    "record_assessment": _r(INSPECTIONS, body_unit(), also=INTAKE),
    "raise_finding": _r(INSPECTIONS, body_unit()),
    "get_finding": _r(INSPECTIONS, FINDING),
    "decide_finding": _r(INSPECTIONS, FINDING),
    # the inspected community rectifies its own findings
    "plan_rectification": _r(INSPECTIONS, FINDING, also={SECRETARY}),
    "start_rectification": _r(INSPECTIONS, FINDING, also={SECRETARY}),
    "submit_rectification": _r(INSPECTIONS, FINDING, also={SECRETARY, PUBLISHER}),
    "verify_rectification": _r(INSPECTIONS, FINDING),
    "follow_up": _r(INSPECTIONS, FINDING),
    # honours: communities nominate and object; the sub-district decides
    "create_category": _r(HONOURS),
    "get_category": _r(HONOURS),
    "nominate": _r(HONOURS, Units("body", "nominee_id", "nominee"), also={SECRETARY}),
    "get_nomination": _r(HONOURS, NOMINATION),
    "decide": _r(HONOURS, NOMINATION),
    "object_to": _r(HONOURS, NOMINATION, also={SECRETARY}),
    "honours_register": _r(HONOURS, query_unit(), member("query")),
    # reporting
    "summary": _r(REPORTS, query_unit()),
    "summary_csv": _r(REPORTS, query_unit()),
    "summary_xlsx": _r(REPORTS, query_unit()),
    "summary_narrative": _r(REPORTS, query_unit()),
    "table_report": _r(REPORTS, query_unit()),
    "table_report_csv": _r(REPORTS, query_unit()),
    "table_report_xlsx": _r(REPORTS, query_unit()),
    "snapshots": _r(REPORTS, query_unit()),
    "publish_snapshot": _r(REPORTS, body_unit(top_if_absent=True)),
    "freshness": _r(REPORTS),
    "stored_events": _r(EVENTS, query_unit()),
    # the dashboard's static files carry no data (it asks the API, with a token)
    "dashboard_page": _r(None),
    "dashboard_file": _r(None),
    "dashboard_vendor_file": _r(None),
}

UNGUARDED = {"healthz", "readyz"}   # liveness and readiness, for orchestrators


def permits(principal: Principal, rule: Rule, write: bool) -> bool:
    """Role check: the family grants the action, or the endpoint names the role."""
    return principal.may(rule.family, WRITE if write else READ) or principal.role in rule.also


def require_role(principal: Principal, rule: Rule, write: bool) -> None:
    if not permits(principal, rule, write):
        raise Forbidden(f"a {principal.role} key may not {'change' if write else 'read'} {rule.family}")


def check(principal: Principal, rule: Rule, write: bool, path: dict, body: dict | None, query: dict,
          ask: Callable[..., object]) -> None:
    """403 unless the role may use the endpoint and every unit it touches is in
    the principal's scope (require_role, then check_scope)."""
    require_role(principal, rule, write)
    check_scope(principal, rule, path, body, query, ask)


def check_scope(principal: Principal, rule: Rule, path: dict, body: dict | None, query: dict,
                ask: Callable[..., object]) -> None:
    """403 unless every unit the request touches is in the principal's scope. A
    query that names no unit is narrowed to the scope (in place), so a list asked
    for without a unit shows only the caller's own."""
    if principal.everywhere or not rule.units:
        return
    needs = _Needs()
    for units in rule.units:
        _collect(units, principal, path, body, query, ask, needs)
    if needs.top:
        raise Forbidden(f"the request concerns the whole tree; this key is limited to {principal.scope!r}")
    if needs.empty:
        return
    facts = ask("membership", "scope_facts", *needs.question())
    for kind, wanted in (("units", needs.units), ("members", needs.members), ("links", needs.links)):
        for ident in wanted:
            path_of = facts[kind].get(ident)
            if path_of is not None and not principal.covers(path_of):   # unknown: the service's 404
                raise Forbidden(f"{kind[:-1]} {ident!r} is outside this key's scope ({principal.scope!r})")
    for ident in needs.nominees:
        path_of = facts["units"].get(ident) or facts["members"].get(ident)
        if path_of is not None and not principal.covers(path_of):
            raise Forbidden(f"nominee {ident!r} is outside this key's scope ({principal.scope!r})")
    for group in needs.any_of:
        paths = [facts["units"].get(u) for u in group]
        if not any(principal.covers(p) for p in paths if p is not None):
            raise Forbidden(f"none of {sorted(group)} is in this key's scope ({principal.scope!r})")


@dataclass
class _Needs:
    units: set = field(default_factory=set)
    members: set = field(default_factory=set)
    links: set = field(default_factory=set)
    any_of: list = field(default_factory=list)   # groups of unit ids: one in scope is enough
    nominees: set = field(default_factory=set)
    top: bool = False

    @property
    def empty(self) -> bool:
        return not (self.units or self.members or self.links or self.any_of or self.nominees)

    def question(self) -> tuple[list, list, list]:
        units = self.units.union(*self.any_of) | self.nominees
        return sorted(units), sorted(self.members | self.nominees), sorted(self.links)


def _collect(units: Units, principal: Principal, path: dict, body: dict | None, query: dict,
             ask, needs: _Needs) -> None:
    if units.source == "path":
        value = path.get(units.name)
    elif units.source == "body":
        value = (body or {}).get(units.name)
    else:
        value = query.get(units.name) or None
        if value is None and units.kind == "unit":
            query[units.name] = principal.scope      # narrowed, not refused
            return
    if value is None:
        needs.top = needs.top or units.top_if_absent
        return
    if units.kind == "resource":
        service, method = units.lookup
        found = ask(service, method, value)
        ids = [i for f in units.fields for i in _as_list(_dig(found, f))]
        if not ids:
            needs.top = True      # a thing of no unit is the whole tree's (a key without scope)
        elif units.any_of:
            needs.any_of.append(set(ids))
        else:
            needs.units.update(ids)
        return
    values = _as_list(value)
    if units.kind == "unit":
        needs.units.update(values)
    elif units.kind == "member":
        needs.members.update(values)
    elif units.kind == "link":
        needs.links.update(values)
    elif units.kind == "nominee":
        # An org unit for a collective honour, else a member: whichever exists decides.
        needs.nominees.update(values)


def _as_list(value) -> list:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) else []


def _dig(body, dotted: str):
    for part in dotted.split("."):
        body = body.get(part) if isinstance(body, dict) else None
    return body


def unmasked_for(principal: Principal, rule: Rule) -> bool:
    """Should this read come back unmasked? Only where the endpoint may carry
    personal data and the role's work needs it."""
    return rule.personal and principal.sees_personal_data

