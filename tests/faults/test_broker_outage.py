"""The broker stops (rabbitmqctl stop_app on a node of the test's own) for
longer than nameko's publish retries: HTTP writes that have an intake form are
still accepted (202) and stored in the gateway's outbox, other writes get 503,
/readyz says so at once, the backlog gauge grows; when the broker returns the
queued writes are applied, once each, and everything is ready again."""
import re
import time

import pytest

from tests.integration.test_delivery import member_body
from tests.integration.test_http_to_report import seed_tree
from tests.support import fault_broker
from tests.support.system import System, eventually

pytestmark = pytest.mark.skipif(fault_broker.available() is not None, reason=str(fault_broker.available()))

OUTAGE_SECONDS = 20      # longer than nameko's publish retries (max_retries 3, ~10-15 s in all)


@pytest.fixture
def broker():
    with fault_broker.fault_broker() as node:
        yield node


@pytest.fixture
def system(broker):
    system = System(broker.uri)
    yield system
    if not broker.is_up():
        broker.start_app()      # containers stop cleanly only with a broker to say goodbye to
    system.stop_all()


def gauge(system, name: str, service: str = "gateway") -> float:
    text = system.http("GET", "/metrics").text
    found = re.search(rf'^{name}{{service="{service}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else -1.0


def counter(system, name: str, **labels) -> float:
    text = system.http("GET", "/metrics").text
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    found = re.search(rf"^{name}{{{re.escape(wanted)}}} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def deed(i: int, member_id: str) -> dict:
    return {"member_id": member_id, "done_on": "2018-06-12", "category": "帮扶", "description": f"第{i}件小事"}


def test_writes_during_a_broker_outage_are_queued_and_applied_once_it_returns(system, broker):
    system.start()
    seed_tree(system)
    assert system.post("/members", {**member_body(0), "id": "m0"}).status_code == 201
    applicant = {**member_body(1), "id": "a0", "stage": "applicant", "admitted_on": None, "stage_since": "2017-01-01"}
    assert system.post("/members", applicant).status_code == 201, "seeded applicant"
    scoped = system.post("/api-keys", {"name": "grid app", "role": "publisher", "scope_unit_id": "c1"}).json()
    seeded = eventually(lambda: system.summary("wgz").get("members", {}).get("total"), message="seeded members")
    queued_before = counter(system, "lianxin_http_writes_queued_total", route="POST /api/v1/members")

    broker.stop_app()
    stopped = time.monotonic()
    eventually(lambda: system.http("GET", "/readyz").status_code == 503, timeout=10, message="not ready")
    started = time.monotonic()
    ready = system.http("GET", "/readyz")
    assert time.monotonic() - started < 3, "readyz waited during the outage"
    assert ready.status_code == 503 and ready.json()["ready"] is False
    assert ready.json()["checks"]["broker"] is False
    assert ready.json()["checks"]["membership"] == {"error": "unreachable: broker down"}

    # intake-able writes: 202 with the id they will have
    members = []
    for i in range(1, 4):
        response = system.post("/members", member_body(i))
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["status"] == "queued" and answer["event_id"] and answer["id"]
        assert response.headers["Location"] == f"/api/v1/members/{answer['id']}"
        members.append(answer["id"])
    given = system.post("/members", {**member_body(9), "id": "m9"})
    assert given.status_code == 202 and given.json()["id"] == "m9"
    members.append("m9")
    deeds = []
    for i, member_id in enumerate(["m0", members[0]]):
        response = system.post("/deeds", deed(i, member_id))
        assert response.status_code == 202, response.text
        assert response.headers["Location"] == f"/api/v1/deeds/{response.json()['id']}"
        deeds.append(response.json()["id"])
    stage = system.post("/members/a0/stage-changes", {"stage": "activist", "effective_on": "2018-03-01"})
    assert stage.status_code == 202, stage.text
    assert stage.json()["id"] == "a0" and stage.headers["Location"] == "/api/v1/members/a0"

    # validated at the edge as ever
    bad = system.post("/members", {"name": "x"})
    assert bad.status_code == 400 and "gender" in bad.json()["errors"]
    # a write with no intake form: 503 naming the broker, with Retry-After
    other = system.post("/org-units", {"name": "新社区", "level": "community", "parent_id": "z1"})
    assert other.status_code == 503 and other.headers["Retry-After"]
    assert other.headers["Content-Type"].startswith("application/problem+json")
    assert "broker" in other.json()["detail"]
    # a scoped key's scope cannot be checked without the services: refused, not let through
    refused = system.http("POST", "/api/v1/deeds", token=scoped["token"], json=deed(7, "m0"))
    assert refused.status_code == 503, refused.text
    # reads: 503 at once, not after nameko's retries
    started = time.monotonic()
    assert system.get("/members/m0").status_code == 503
    assert time.monotonic() - started < 3

    # counted at the relay's retry interval (~1 s) while the broker is down
    eventually(lambda: gauge(system, "lianxin_outbox_backlog") == len(members) + len(deeds) + 1, timeout=10,
               message="backlog counted")
    eventually(lambda: gauge(system, "lianxin_outbox_oldest_age_seconds") > 1, timeout=10, message="age grows")
    assert counter(system, "lianxin_http_writes_queued_total", route="POST /api/v1/members") \
        == queued_before + len(members)

    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
    assert gauge(system, "lianxin_outbox_oldest_age_seconds") > OUTAGE_SECONDS / 2
    broker.start_app()

    # applied once the broker is back: every one of them, once
    eventually(lambda: system.http("GET", "/readyz").status_code == 200, timeout=60, message="ready again")
    for member_id in members:
        eventually(lambda: system.get(f"/members/{member_id}").status_code == 200, timeout=90,
                   message=f"member {member_id}")
    for deed_id in deeds:
        eventually(lambda: system.get(f"/deeds/{deed_id}").status_code == 200, timeout=120,
                   message=f"deed {deed_id}")
    eventually(lambda: system.summary("wgz").get("members", {}).get("total") == seeded + len(members), timeout=60,
               message="members in the summary")
    eventually(lambda: system.summary("wgz", "2018-01-01", "2018-12-31").get("deeds", {}).get("total")
               == len(deeds), timeout=60, message="deeds in the summary")
    eventually(lambda: gauge(system, "lianxin_outbox_backlog") == 0, timeout=30, message="outbox drained")
    assert gauge(system, "lianxin_outbox_oldest_age_seconds") == 0
    eventually(lambda: system.get("/members/a0").json()["stage"] == "activist", timeout=30, message="stage")
    assert system.store("membership").db["members"].count_documents({}) == 2 + len(members)
    assert system.store("activities").db["deeds"].count_documents({}) == len(deeds)
    # and writes are forwarded again
    assert system.post("/members", member_body(20)).status_code == 201
    assert system.http("GET", "/readyz").json()["checks"]["broker"] is True
