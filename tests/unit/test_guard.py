"""Role and scope rules of the gateway (services/gateway/guard.py), with a fake
membership that knows a small tree: wgz > za > ca, wgz > zb > cb."""
import inspect

import pytest

from lianxin import access
from lianxin.access import Forbidden, Principal
from services.gateway import guard
from services.gateway.service import GatewayService

PATHS = {"wgz": ["wgz"], "za": ["wgz", "za"], "zb": ["wgz", "zb"], "ca": ["wgz", "za", "ca"],
         "cb": ["wgz", "zb", "cb"]}
MEMBERS = {"m-ca": "ca", "m-cb": "cb"}
LINKS = {"l-ca": "m-ca", "l-cb": "m-cb"}
RESOURCES = {
    ("membership", "get_member", "m-ca"): {"id": "m-ca", "org_unit_id": "ca"},
    ("membership", "get_member", "m-cb"): {"id": "m-cb", "org_unit_id": "cb"},
    ("activities", "get_deed", "d-cb"): {"id": "d-cb", "org_unit_id": "cb"},
    ("activities", "get_case", "k-ca"): {"id": "k-ca", "org_unit_id": "ca"},
    ("inspections", "get_round", "r-all"): {"id": "r-all", "scope_org_unit_ids": ["za", "zb"]},
    ("inspections", "get_round", "r-za"): {"id": "r-za", "scope_org_unit_ids": ["za"]},
    ("inspections", "get_finding", "f-ca"): {"id": "f-ca", "org_unit_id": "ca"},
    ("membership", "get_transfer", "t-ca-cb"): {"id": "t-ca-cb", "transfer": {"from_org_unit_id": "ca",
                                                                             "to_org_unit_id": "cb"}},
}


class FakeServices:
    def __init__(self):
        self.asked = []

    def __call__(self, service, method, *args):
        self.asked.append((service, method) + tuple(args))
        if method == "scope_facts":
            units, members, links = args
            return {"units": {u: PATHS.get(u) for u in units},
                    "members": {m: PATHS.get(MEMBERS.get(m)) for m in members},
                    "links": {k: PATHS.get(MEMBERS.get(LINKS.get(k))) for k in links}}
        return RESOURCES[(service, method, args[0])]


SECRETARY_CA = Principal("k1", "唐家庄书记", access.SECRETARY, "ca")
INSPECTOR = Principal("k2", "巡诊组", access.INSPECTOR, "wgz")
PUBLISHER = Principal("k3", "网格平台", access.PUBLISHER, "wgz")
VIEWER = Principal("k4", "区委组织部", access.VIEWER, "wgz")
ADMIN_ZA = Principal("k5", "管区管理员", access.ADMIN, "za")


def check(principal, name, write=False, path=None, body=None, query=None):
    query = {} if query is None else query
    guard.check(principal, guard.RULES[name], write, path or {}, body, query, FakeServices())
    return query


def test_every_endpoint_of_the_gateway_has_a_rule():
    handlers = {name for name, fn in inspect.getmembers(GatewayService, inspect.isfunction)
                if getattr(fn, "nameko_entrypoints", None)}
    assert handlers, "no @http handlers found"
    assert handlers - set(guard.RULES) - guard.UNGUARDED == set()
    assert set(guard.RULES) - handlers == set(), "rules for handlers that do not exist"
    assert guard.UNGUARDED == {"healthz", "readyz"}
    public = {name for name, rule in guard.RULES.items() if rule.family is None}
    assert public == {"dashboard_page", "dashboard_file", "dashboard_vendor_file"}


def test_a_secretary_reaches_its_own_community_and_nothing_else():
    check(SECRETARY_CA, "get_org_unit", path={"unit_id": "ca"})
    check(SECRETARY_CA, "get_member", path={"member_id": "m-ca"})
    check(SECRETARY_CA, "register_member", True, body={"org_unit_id": "ca"})
    check(SECRETARY_CA, "record_deed", True, body={"member_id": "m-ca"})
    check(SECRETARY_CA, "unlink_household", True, path={"link_id": "l-ca"})
    check(SECRETARY_CA, "get_case", path={"case_id": "k-ca"})
    for name, kwargs in (("get_org_unit", {"path": {"unit_id": "cb"}}),
                         ("get_org_unit", {"path": {"unit_id": "za"}}),          # its zone: above it
                         ("register_member", {"write": True, "body": {"org_unit_id": "cb"}}),
                         ("record_deed", {"write": True, "body": {"member_id": "m-cb"}}),
                         ("unlink_household", {"write": True, "path": {"link_id": "l-cb"}}),
                         ("get_deed", {"path": {"deed_id": "d-cb"}}),
                         ("get_round", {"path": {"round_id": "r-all"}}),
                         ("create_org_unit", {"write": True, "body": {"name": "x"}})):   # a new top unit
        with pytest.raises(Forbidden):
            check(SECRETARY_CA, name, **kwargs)


def test_a_list_asked_without_a_unit_is_narrowed_to_the_scope():
    assert check(SECRETARY_CA, "summary", query={})["org_unit_id"] == "ca"
    assert check(VIEWER, "table_report", query={"org_unit_id": ""})["org_unit_id"] == "wgz"
    assert check(SECRETARY_CA, "stored_events", query={})["org_unit_id"] == "ca"
    with pytest.raises(Forbidden):
        check(SECRETARY_CA, "summary", query={"org_unit_id": "wgz"})


def test_an_admin_of_the_whole_tree_is_not_asked_about_units():
    fake = FakeServices()
    query = {}
    guard.check(access.BOOTSTRAP, guard.RULES["summary"], False, {}, None, query, fake)
    assert fake.asked == [] and query == {}


def test_roles_by_family():
    # inspector: inspections everywhere in scope, read-only elsewhere
    check(INSPECTOR, "record_assessment", True, body={"org_unit_id": "cb"})
    check(INSPECTOR, "get_member", path={"member_id": "m-cb"})
    check(INSPECTOR, "household_chart", path={"unit_id": "ca"})
    for name, body in (("register_member", {"org_unit_id": "ca"}), ("record_deed", {"member_id": "m-ca"})):
        with pytest.raises(Forbidden):
            check(INSPECTOR, name, True, body=body)
    # publisher: the intake writes, nothing to read
    check(PUBLISHER, "record_deed", True, body={"member_id": "m-cb"})
    check(PUBLISHER, "open_case", True, body={"org_unit_id": "ca"})
    for name in ("summary", "household_chart", "stored_events"):
        with pytest.raises(Forbidden):
            check(PUBLISHER, name, query={}, path={"unit_id": "ca"})
    with pytest.raises(Forbidden):
        check(PUBLISHER, "decide_deed", True, path={"deed_id": "d-cb"})
    # viewer: reports only
    check(VIEWER, "summary_xlsx", query={"org_unit_id": "ca"})
    for name in ("household_chart", "stored_events", "rejections", "audit_log"):
        with pytest.raises(Forbidden):
            check(VIEWER, name, path={"unit_id": "ca"}, query={})
    # secretary: rectifies its own findings, may not verify them
    check(SECRETARY_CA, "plan_rectification", True, path={"finding_id": "f-ca"})
    with pytest.raises(Forbidden):
        check(SECRETARY_CA, "verify_rectification", True, path={"finding_id": "f-ca"})


def test_a_transfer_is_seen_by_both_ends_and_received_by_the_receiving_end():
    secretary_cb = Principal("k6", "港东书记", access.SECRETARY, "cb")
    check(SECRETARY_CA, "get_transfer", path={"transfer_id": "t-ca-cb"})
    check(secretary_cb, "get_transfer", path={"transfer_id": "t-ca-cb"})
    check(secretary_cb, "receive_transfer", True, path={"transfer_id": "t-ca-cb"})
    with pytest.raises(Forbidden):
        check(SECRETARY_CA, "receive_transfer", True, path={"transfer_id": "t-ca-cb"})


def test_a_round_is_read_only_by_keys_that_cover_all_of_it():
    check(ADMIN_ZA, "get_round", path={"round_id": "r-za"})
    with pytest.raises(Forbidden):
        check(ADMIN_ZA, "round_ranking", path={"round_id": "r-all"})


def test_a_nominee_is_a_unit_or_a_member():
    check(SECRETARY_CA, "nominate", True, body={"nominee_id": "ca"})
    check(SECRETARY_CA, "nominate", True, body={"nominee_id": "m-ca"})
    for nominee in ("cb", "m-cb"):
        with pytest.raises(Forbidden):
            check(SECRETARY_CA, "nominate", True, body={"nominee_id": nominee})


def test_unknown_or_malformed_units_are_left_to_the_service_to_refuse():
    check(SECRETARY_CA, "register_member", True, body={"org_unit_id": "nope"})      # its 404
    check(SECRETARY_CA, "register_member", True, body={"org_unit_id": 12})          # its 400
    check(SECRETARY_CA, "register_member", True, body={})                           # its 400


def test_personal_data_is_unmasked_only_for_roles_that_need_it():
    rule = guard.RULES["get_member"]
    assert guard.unmasked_for(SECRETARY_CA, rule) and guard.unmasked_for(access.BOOTSTRAP, rule)
    assert not any(guard.unmasked_for(p, rule) for p in (INSPECTOR, VIEWER, PUBLISHER))
    assert not guard.unmasked_for(access.BOOTSTRAP, guard.RULES["household_chart"])


def test_a_thing_of_no_unit_belongs_to_the_whole_tree():
    # A key issued without a scope reaches everything: a street's admin may not revoke it.
    whole_tree_key = {("gateway", "get_key", "k-root"): {"id": "k-root", "scope_unit_id": None},
                      ("gateway", "get_key", "k-ca"): {"id": "k-ca", "scope_unit_id": "ca"}}
    RESOURCES.update(whole_tree_key)
    try:
        check(ADMIN_ZA, "revoke_key", True, path={"key_id": "k-ca"})
        with pytest.raises(Forbidden):
            check(ADMIN_ZA, "revoke_key", True, path={"key_id": "k-root"})
    finally:
        for k in whole_tree_key:
            RESOURCES.pop(k)
