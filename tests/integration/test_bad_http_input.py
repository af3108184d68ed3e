"""Bad HTTP input: problem+json naming the field; nothing stored, nothing published."""
import pytest

from tests.integration.test_http_to_report import MEMBER, seed_tree


@pytest.fixture
def running(system):
    system.start()
    seed_tree(system)
    return system


def assert_problem(response, status, *fields):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    for field in fields:
        assert field in problem["errors"], problem
    return problem


def assert_nothing_stored(system, member_id):
    assert system.get(f"/members/{member_id}").status_code == 404
    store = system.store("membership")
    assert store.db["members"].count_documents({"_id": member_id}) == 0


def test_missing_fields_are_each_named(running):
    body = {k: v for k, v in MEMBER.items() if k not in ("name", "birth_date")}
    problem = assert_problem(running.post("/members", body), 400, "name", "birth_date")
    assert "Missing data" in problem["errors"]["name"][0]
    assert_nothing_stored(running, "m1")


def test_wrong_types_are_named(running):
    assert_problem(running.post("/members", {**MEMBER, "birth_date": 19700102, "gender": "x"}),
                   400, "birth_date", "gender")
    assert_nothing_stored(running, "m1")


def test_rule_violations_are_named(running):
    problem = assert_problem(running.post("/members", {**MEMBER, "id_number": "110105194912310021"}),
                             400, "id_number")
    assert "checksum" in problem["errors"]["id_number"][0]
    assert_problem(running.post("/members", {**MEMBER, "stage": "probationary", "admitted_on": None}),
                   400, "admitted_on")
    assert_problem(running.post("/members", {**MEMBER, "admitted_on": "1980-01-01"}), 400, "admitted_on")
    assert_nothing_stored(running, "m1")


def test_unknown_parent_is_404_naming_it(running):
    problem = assert_problem(running.post("/org-units", {"id": "c9", "name": "x", "level": "community",
                                                         "parent_id": "nope"}), 404, "parent_id")
    assert "nope" in problem["errors"]["parent_id"][0]
    assert running.get("/org-units/c9").status_code == 404
    assert_problem(running.post("/members", {**MEMBER, "org_unit_id": "nope"}), 404, "org_unit_id")
    assert_nothing_stored(running, "m1")


def test_oversized_body_is_413(running):
    response = running.http("POST", "/api/v1/members", data=b'{"name": "' + b"x" * 1_100_000 + b'"}',
                            headers={"Content-Type": "application/json"})
    assert_problem(response, 413)
    assert_nothing_stored(running, "m1")


def test_not_json_and_too_deep_are_400(running):
    assert_problem(running.http("POST", "/api/v1/members", data=b"{not json",
                                headers={"Content-Type": "application/json"}), 400, "_body")
    assert_problem(running.http("POST", "/api/v1/members", data=b"[1, 2]"), 400, "_body")
    deep = b"[" * 100 + b"]" * 100
    assert_problem(running.http("POST", "/api/v1/org-units", data=deep), 400, "_body")


def test_nothing_published_for_refused_writes(running):
    running.post("/members", {**MEMBER, "gender": "x"})
    running.post("/members", {**MEMBER, "org_unit_id": "nope"})
    store = running.store("membership")
    pending = [env["event_type"] for _, _, env, _ in store.db.pending_events()]
    events = running.store("reporting").db["events"]
    assert "member_registered" not in pending
    assert events.count_documents({"event_type": "member_registered"}) == 0
