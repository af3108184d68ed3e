"""Authentication, roles and org-unit scope over real HTTP, on a running system.

A street (wgz) with two zones and a community in each (za > ca, zb > cb). The
data asked for below all belongs to community cb. Each role holds a key; the
table says, for every endpoint family, whether that role gets in (anything but
401/403) or is refused (403).
"""
from datetime import date, timedelta

import pytest

from tests.support.broker import Vhost
from tests.support.system import System, eventually

OK, NO = "ok", 403
ID_NUMBER, PHONE = "11010519491231002X", "13812345678"


def iso(days_ago: int) -> str:
    return (date.today() - timedelta(days=days_ago)).isoformat()


@pytest.fixture(scope="module")
def street():
    with Vhost() as vhost:
        system = System(vhost.uri).start()
        try:
            _seed(system)
            system.keys = {name: _issue(system, name, role, scope) for name, role, scope in (
                ("admin", "admin", None), ("secretary_ca", "secretary", "ca"), ("secretary_cb", "secretary", "cb"),
                ("inspector", "inspector", "wgz"), ("publisher", "publisher", "wgz"), ("viewer", "viewer", "wgz"))}
            yield system
        finally:
            system.stop_all()


def _must(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.text)
    return response


def _seed(system):
    for body in ({"id": "wgz", "name": "王哥庄街道", "level": "street"},
                 {"id": "za", "name": "第一管区", "level": "zone", "parent_id": "wgz"},
                 {"id": "zb", "name": "第二管区", "level": "zone", "parent_id": "wgz"},
                 {"id": "ca", "name": "唐家庄社区", "level": "community", "parent_id": "za"},
                 {"id": "cb", "name": "港东社区", "level": "community", "parent_id": "zb"}):
        _must(system.post("/org-units", body), 201)
    for member_id, unit in (("m-ca", "ca"), ("m-cb", "cb")):
        _must(system.post("/members", {"id": member_id, "name": "张三", "gender": "male", "birth_date": "1970-01-02",
                                       "org_unit_id": unit, "stage": "full", "admitted_on": "1995-07-01",
                                       "id_number": ID_NUMBER, "phone": PHONE}), 201)
    eventually(lambda: system.post("/deeds", {"id": "d-cb", "member_id": "m-cb", "done_on": iso(1),
                                              "category": "patrol", "description": "巡逻"}).status_code == 201,
               message="deed recorded")
    eventually(lambda: system.post("/inspection-rounds", {
        "id": "r1", "name": "第一轮", "scope_org_unit_ids": ["wgz"], "checklist": [{"item": "三会一课", "max_score": 10}],
        "starts_on": iso(10), "ends_on": iso(-10)}).status_code == 201, message="round opened")
    eventually(lambda: system.post("/findings", {"id": "f-cb", "round_id": "r1", "org_unit_id": "cb",
                                                 "item": "三会一课", "severity": "low",
                                                 "description": "记录不全", "found_on": iso(1)}).status_code == 201,
               message="finding raised")
    _must(system.post("/honour-categories", {"id": "hc", "name": "优秀共产党员", "nominee_kind": "individual",
                                             "awarding_body": "街道党工委"}), 201)
    eventually(lambda: system.post("/nominations", {"id": "n-cb", "category_id": "hc", "nominee_id": "m-cb",
                                                    "year": date.today().year}).status_code == 201,
               message="nomination made")


def _issue(system, name, role, scope):
    body = {"name": f"test {name}", "role": role, **({"scope_unit_id": scope} if scope else {})}
    return _must(system.post("/api-keys", body), 201).json()["token"]


# family -> a request about community cb's data (path, body or None for a GET)
REQUESTS = {
    "membership read": ("GET", "/members/m-cb", None),
    "membership write": ("POST", "/members", {"name": "李四", "gender": "female", "birth_date": "1980-03-04",
                                              "org_unit_id": "cb", "stage": "applicant"}),
    "activities read": ("GET", "/deeds/d-cb", None),
    "activities write": ("POST", "/deeds", {"member_id": "m-cb", "done_on": iso(2), "category": "visit",
                                            "description": "走访"}),
    "inspections read": ("GET", "/findings/f-cb", None),
    "inspections write": ("POST", "/findings", {"round_id": "r1", "org_unit_id": "cb", "item": "三会一课",
                                                "severity": "medium", "description": "未按时召开",
                                                "found_on": iso(1)}),
    "honours read": ("GET", "/nominations/n-cb", None),
    "honours write": ("POST", "/honour-categories", {"name": "先进基层党组织", "nominee_kind": "collective",
                                                     "awarding_body": "街道党工委"}),
    "reports": ("GET", "/reports/summary?org_unit_id=cb", None),
    "report exports": ("GET", "/reports/deeds.xlsx?org_unit_id=cb", None),
    "event store": ("GET", "/events?org_unit_id=cb", None),
    "operations": ("GET", "/rejections", None),
    "api keys": ("GET", "/api-keys", None),
    "audit log": ("GET", "/audit", None),
}
FAMILIES = list(REQUESTS)

#               mem-r mem-w act-r act-w ins-r ins-w hon-r hon-w rep  exp  evt  ops  keys audit
EXPECTED = {
    "admin":        [OK, OK, OK, OK, OK, OK, OK, OK, OK, OK, OK, OK, OK, OK],
    "secretary_cb": [OK, OK, OK, OK, OK, NO, OK, NO, OK, OK, OK, NO, NO, NO],
    "secretary_ca": [NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO],   # community B's data
    "inspector":    [OK, NO, OK, NO, OK, OK, OK, NO, OK, OK, OK, NO, NO, NO],
    "publisher":    [NO, OK, NO, OK, NO, NO, NO, NO, NO, NO, NO, NO, NO, NO],
    "viewer":       [NO, NO, NO, NO, NO, NO, NO, NO, OK, OK, NO, NO, NO, NO],
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_against_each_endpoint_family(street, role):
    outcome = {}
    for family in FAMILIES:
        method, path, body = REQUESTS[family]
        response = street.http(method, f"/api/v1{path}", token=street.keys[role], json=body)
        assert response.status_code < 500, (family, response.status_code, response.text)
        if response.status_code in (401, 403):
            assert response.headers["Content-Type"].startswith("application/problem+json")
        outcome[family] = NO if response.status_code in (401, 403) else OK
    assert outcome == dict(zip(FAMILIES, EXPECTED[role]))


def test_no_key_a_wrong_key_and_a_revoked_key_get_401(street):
    for token in (None, "nonsense", "lx_0123456789abcdef_" + "A" * 43):
        response = street.http("GET", "/api/v1/reports/summary", token=token)
        assert response.status_code == 401 and response.json()["status"] == 401, response.text
    issued = _must(street.post("/api-keys", {"name": "to revoke", "role": "viewer"}), 201).json()
    assert street.http("GET", "/api/v1/reports/freshness", token=issued["token"]).status_code == 200
    revoked = _must(street.http("DELETE", f"/api/v1/api-keys/{issued['id']}"), 200).json()
    assert revoked["revoked_at"] and "token" not in revoked
    assert street.http("GET", "/api/v1/reports/freshness", token=issued["token"]).status_code == 401
    listed = {k["id"]: k for k in street.get("/api-keys").json()["keys"]}
    assert listed[issued["id"]]["revoked_at"] and not any("token" in k or "secret_hash" in k for k in listed.values())


def test_health_and_the_dashboard_page_need_no_key(street):
    for path in ("/healthz", "/readyz", "/dashboard"):
        assert street.http("GET", path, token=None).status_code == 200, path
    assert street.http("GET", "/api/v1/openapi.json", token=None).status_code == 401
    document = street.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_lists_never_show_other_units_rows(street):
    secretary = street.keys["secretary_ca"]
    summary = street.http("GET", "/api/v1/reports/summary", token=secretary).json()
    assert summary["org_unit_id"] == "ca"
    events = street.http("GET", "/api/v1/events", token=secretary).json()["events"]
    assert events and all(e["org_unit_id"] == "ca" for e in events)
    chart = street.http("GET", "/api/v1/org-units/ca/household-links", token=secretary).json()
    assert [m["member_id"] for m in chart["members"]] == ["m-ca"]
    assert street.http("GET", "/api/v1/org-units/wgz/children", token=secretary).status_code == 403
    assert street.http("GET", "/api/v1/inspection-rounds/r1/ranking", token=secretary).status_code == 403
    keys = street.http("GET", "/api/v1/api-keys", token=secretary)
    assert keys.status_code == 403


def test_personal_data_is_unmasked_for_admins_and_secretaries_and_every_such_read_is_audited(street):
    def member(role):
        return street.http("GET", "/api/v1/members/m-cb", token=street.keys[role]).json()

    assert (member("admin")["id_number"], member("admin")["phone"]) == (ID_NUMBER, PHONE)
    assert member("secretary_cb")["id_number"] == ID_NUMBER
    assert (member("inspector")["id_number"], member("inspector")["phone"]) == ("110***********002X", "138****5678")
    reads = street.get("/audit", action="unmasked_read").json()["entries"]
    readers = [e["who"]["name"] for e in reads if e["path"] == "/api/v1/members/m-cb"]
    assert "test admin" in readers and "test secretary_cb" in readers and "test inspector" not in readers


def test_writes_and_refusals_are_in_the_audit_log_with_who_and_where_from(street):
    token = street.keys["secretary_cb"]
    body = {"id": "d-audit", "member_id": "m-cb", "done_on": iso(3), "category": "visit", "description": "走访",
            "phone": PHONE}
    response = street.http("POST", "/api/v1/deeds", token=token, json=body, headers={"X-Forwarded-For": "10.1.2.3"})
    assert response.status_code in (201, 400), response.text
    refused = street.http("POST", "/api/v1/deeds", token=street.keys["secretary_ca"], json=body)
    assert refused.status_code == 403
    entries = street.get("/audit", limit=50).json()["entries"]
    write = next(e for e in entries if e["action"] == "write" and e["path"] == "/api/v1/deeds"
                 and e["who"]["name"] == "test secretary_cb")
    assert write["who"]["role"] == "secretary" and write["who"]["scope"] == "cb"
    assert write["from"]["address"] == "127.0.0.1" and write["from"]["forwarded_for"] == "10.1.2.3"
    assert write["status"] == response.status_code and write["at"]
    assert PHONE not in str(entries)                          # bodies are kept masked
    denied = next(e for e in entries if e["action"] == "denied" and e["who"]["name"] == "test secretary_ca")
    assert denied["status"] == 403
    assert street.http("GET", "/api/v1/audit", token=street.keys["viewer"]).status_code == 403
    admin_za = _issue(street, "admin_za", "admin", "za")
    assert street.http("GET", "/api/v1/audit", token=admin_za).status_code == 403    # whole-tree admins only


def test_a_key_for_a_scope_can_only_be_issued_inside_the_issuers_scope(street):
    admin_za = _issue(street, "admin_za2", "admin", "za")
    inside = street.http("POST", "/api/v1/api-keys", token=admin_za,
                         json={"name": "ca secretary", "role": "secretary", "scope_unit_id": "ca"})
    assert inside.status_code == 201
    for body in ({"name": "cb secretary", "role": "secretary", "scope_unit_id": "cb"},
                 {"name": "everything", "role": "admin"}):
        assert street.http("POST", "/api/v1/api-keys", token=admin_za, json=body).status_code == 403
    bad = street.post("/api-keys", {"name": "x", "role": "secretary"})
    assert bad.status_code == 400 and "scope_unit_id" in bad.json()["errors"]
    assert "role" in street.post("/api-keys", {"name": "x", "role": "root"}).json()["errors"]


def test_the_keys_command_issues_lists_revokes_and_reads_the_audit_log(street, monkeypatch, capsys):
    from scripts import keys
    from tests.support.system import ADMIN_TOKEN

    monkeypatch.setenv("LIANXIN_TOKEN", ADMIN_TOKEN)
    base = ["--base", street.url]
    assert keys.main(base + ["issue", "--name", "港东社区书记", "--role", "secretary", "--scope", "cb"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert street.http("GET", "/api/v1/members/m-cb", token=token).status_code == 200
    key_id = token.split("_")[1]
    assert keys.main(base + ["list"]) == 0
    assert key_id in capsys.readouterr().out
    assert keys.main(base + ["revoke", key_id]) == 0
    assert street.http("GET", "/api/v1/members/m-cb", token=token).status_code == 401
    assert keys.main(base + ["audit", "--key-id", key_id, "--action", "unmasked_read"]) == 0
    assert "/api/v1/members/m-cb" in capsys.readouterr().out
    # refused with the reason, and a non-zero exit
    assert keys.main(base + ["issue", "--name", "x", "--role", "secretary"]) == 1
    assert "scope_unit_id" in capsys.readouterr().err
    monkeypatch.setenv("LIANXIN_TOKEN", street.keys["viewer"])
    assert keys.main(base + ["list"]) == 1
    assert "403" in capsys.readouterr().err


def test_writes_that_come_by_intake_are_in_the_audit_log_with_their_publisher(street):
    from tests.support.system import intake_envelope

    deed = intake_envelope("deed_recorded", {"member_id": "m-cb", "done_on": iso(4), "category": "visit",
                                             "description": "网格平台上报"}, org_unit_id="cb")
    deed["source"] = "grid-app-laoshan"
    street.publish_intake([deed])

    def entry():
        entries = street.get("/audit", action="intake", limit=100).json()["entries"]
        return next((e for e in entries for item in e["events"] if item["event_id"] == deed["event_id"]), None)
    found = eventually(entry, message="the intake write in the audit log")
    assert found["who"]["name"] == "grid-app-laoshan" and found["from"]["via"] == "lianxin.intake"
    assert [i["outcome"] for i in found["events"] if i["event_id"] == deed["event_id"]] == ["ok"]
