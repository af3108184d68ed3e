"""Property-based fuzzing of every endpoint of the served OpenAPI document
(schemathesis over hypothesis), against a live system.

For every operation, positive data (what the schema allows) and negative
data (what it forbids: wrong types, missing fields, bad formats), with path
parameters drawn both at random and from a small seeded street (real ids, so
the requests get past the 404s). The properties:

- never a 5xx (a 503 is a bug too: every service is running);
- a refusal (>= 400) is application/problem+json with the API.md fields, and
  shows no stack trace, file, line or exception class;
- a refusal leaves no partial write: every collection of every database of
  the system (each service's, outboxes included, and the gateway's keys) has
  the same documents before and after it (count and digest of the contents);
  the gateway's audit log, which records refused writes by design, grows by
  at most the one entry.

Deterministic (derandomized, no example database) and bounded: the budget is
the `lianxin` hypothesis profile of tests/conftest.py (HYPOTHESIS_PROFILE=deep
for a longer, random run).
"""
from __future__ import annotations

import collections
import json
import os
import re
import socket
import time
from datetime import date, timedelta

import eventlet
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import GenerationMode

from lianxin import clock, commands
from services.gateway import openapi
from tests.conftest import budget
from tests.support.broker import Vhost
from tests.support.fingerprint import database_fingerprint
from tests.support.system import ADMIN_TOKEN, System, eventually

DOCUMENT = openapi.build()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 6}
STACK_TRACE = re.compile(
    r"Traceback|File \"|\bline \d+\b(?! column)|, in <?\w+>?$"
    r"|\b(?:[a-z_][a-z0-9_]*\.)+[A-Z]\w*(?:Error|Exception|Failure|Timeout)\b"
    r"|\b(?:Key|Type|Value|Attribute|Index|Recursion|UnicodeDecode|Assertion|ZeroDivision|Overflow)Error\b",
    re.MULTILINE)


def seed(system: System) -> dict[str, list[str]]:
    """A small street with one of everything; returns real ids by path parameter name."""
    today = clock.today()

    def iso(days_ago: int) -> str:
        return (today - timedelta(days=days_ago)).isoformat()

    posts = [
        ("/org-units", {"id": "wgz", "name": "王哥庄街道", "level": "street"}),
        ("/org-units", {"id": "za", "name": "第一管区", "level": "zone", "parent_id": "wgz"}),
        ("/org-units", {"id": "ca", "name": "唐家庄社区", "level": "community", "parent_id": "za"}),
        ("/org-units", {"id": "cb", "name": "港东社区", "level": "community", "parent_id": "za"}),
        ("/party-orgs", {"id": "p-wgz", "name": "王哥庄街道党工委", "kind": "working_committee", "org_unit_id": "wgz"}),
        ("/party-orgs", {"id": "p-ca", "name": "唐家庄社区党支部", "kind": "branch", "parent_id": "p-wgz",
                         "org_unit_id": "ca"}),
        ("/members", {"id": "m1", "name": "张三", "gender": "male", "birth_date": "1970-01-02", "org_unit_id": "ca",
                      "branch_id": "p-ca", "stage": "full", "admitted_on": "1995-07-01"}),
        ("/members", {"id": "m2", "name": "李四", "gender": "female", "birth_date": "1980-05-06",
                      "org_unit_id": "ca", "branch_id": "p-ca", "stage": "probationary", "admitted_on": iso(100)}),
        ("/members/m2/transfers", {"id": "t1", "to_org_unit_id": "cb", "issued_on": iso(2)}),
        ("/household-links", {"id": "l1", "member_id": "m1", "household_id": "h1", "address": "唐家庄村1号"}),
        ("/activities", {"id": "a1", "kind": "theme_day", "title": "主题党日", "org_unit_id": "ca",
                         "scheduled_for": iso(5)}),
        ("/deeds", {"id": "d1", "member_id": "m1", "done_on": iso(1), "category": "帮扶", "description": "买菜"}),
        ("/cases", {"id": "k1", "kind": "dispute", "org_unit_id": "ca", "opened_on": iso(3), "summary": "邻里纠纷"}),
        ("/checklists", {"id": "cl1", "name": "巡诊清单", "items": [{"item": "三会一课", "max_score": 30}]}),
        ("/inspection-rounds", {"id": "r1", "name": "第一轮", "scope_org_unit_ids": ["wgz"],
                                "checklist": [{"item": "三会一课", "max_score": 30}], "starts_on": iso(30),
                                "ends_on": iso(-30), "inspectors": ["insp"]}),
        ("/findings", {"id": "f1", "round_id": "r1", "org_unit_id": "ca", "item": "三会一课", "severity": "low",
                       "description": "记录不全", "found_on": iso(1)}),
        ("/honour-categories", {"id": "hc1", "name": "优秀共产党员", "nominee_kind": "individual",
                                "awarding_body": "街道党工委"}),
        ("/nominations", {"id": "n1", "category_id": "hc1", "nominee_id": "m1", "year": today.year}),
    ]
    for path, body in posts:
        # A service's view of another's facts arrives a moment later (DESIGN.md rule 7).
        eventually(lambda: system.post(path, body).status_code in (200, 201), timeout=10, message=f"seed {path}")
    return REAL_IDS


UNITS, ORGS, MEMBERS = ["wgz", "za", "ca", "cb"], ["p-wgz", "p-ca"], ["m1", "m2"]
REAL_IDS = {
    # path parameters
    "unit_id": UNITS, "org_id": ORGS, "member_id": MEMBERS, "transfer_id": ["t1"], "link_id": ["l1"],
    "activity_id": ["a1"], "deed_id": ["d1"], "case_id": ["k1"], "checklist_id": ["cl1"], "round_id": ["r1"],
    "finding_id": ["f1"], "category_id": ["hc1"], "nomination_id": ["n1"], "name": ["app.js", "index.html"],
    # fields of bodies and queries that name something
    "org_unit_id": UNITS, "to_org_unit_id": UNITS, "parent_id": UNITS + ORGS, "branch_id": ORGS,
    "to_branch_id": ORGS, "nominee_id": MEMBERS + UNITS, "recorded_by": MEMBERS, "household_id": ["h1", "h2"],
    "follows_round_id": ["r1"], "inspector": ["insp"],
    "scope_org_unit_ids": UNITS, "attendee_ids": MEMBERS, "inspectors": ["insp"],
}


# Dates at the ends of the calendar and of the data (random dates rarely land there).
EDGE_DATES = ["0001-01-01", "9999-12-31", "9999-12-01", "1900-02-28", "2000-02-29", "2018-01-01",
              date.today().isoformat()]
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Text generators leave out lone surrogates, yet JSON can carry one ("\ud800"): a
# marker here (schemathesis cannot encode one), written as the escape when sent.
LONE_SURROGATE = "\u27e6lone surrogate\u27e7"
EDGE_TEXT = [LONE_SURROGATE, f"a{LONE_SURROGATE}b", "\u202e反转", "\x00", "１２３", "x" * 5000]


def realistic(value, data):
    """Some of the ids a generated body or query names replaced by ids that
    exist, some of its dates by the calendar's edges, some text by odd text."""
    if isinstance(value, list):
        return [realistic(v, data) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        real = REAL_IDS.get(key)
        if isinstance(item, str) and DAY.match(item) and data.draw(st.booleans(), label=f"edge {key}"):
            item = data.draw(st.sampled_from(EDGE_DATES), label=key)
        elif isinstance(item, str) and not real and data.draw(st.integers(0, 3), label=f"odd {key}") == 0:
            item = data.draw(st.sampled_from(EDGE_TEXT), label=key)
        elif real and isinstance(item, str) and data.draw(st.booleans(), label=f"real {key}"):
            item = data.draw(st.sampled_from(real), label=key)
        elif real and isinstance(item, list) and item and all(isinstance(i, str) for i in item) \
                and data.draw(st.booleans(), label=f"real {key}"):
            item = data.draw(st.lists(st.sampled_from(real), min_size=1, max_size=3, unique=True), label=key)
        out[key] = realistic(item, data)
    return out


# -- the store fingerprint ---------------------------------------------------------------

AUDIT = "_audit.entries"    # the gateway's append-only audit log: records refused writes too, by design


def fingerprint(system: System) -> dict:
    """Every collection of every database of this system (each service's, the
    gateway's keys and audit log): its document count and a digest of its
    documents, so an update in place shows as well as an insert; and the
    events still waiting in outboxes under "pending"."""
    prefix = system.config["DB_PREFIX"]
    client = system.store("membership").db.db.client
    out, pending = {}, 0
    for name in sorted(n for n in client.list_database_names() if n.startswith(prefix)):
        found = database_fingerprint(client[name], counted_only=("entries",) if name.endswith("_audit") else ())
        pending += found.pop("pending")
        out.update({f"{name[len(prefix):]}.{collection}": value for collection, value in found.items()})
    out["pending"] = pending
    return out


def settle(system: System, quiet: float = 0.05, timeout: float = 15.0) -> dict:
    """Wait until accepted writes have travelled: outboxes empty, counts still for `quiet` s."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = fingerprint(system)
        if now != last:
            last, since = now, time.monotonic()
        elif not now["pending"] and time.monotonic() - since >= quiet:
            return now
        time.sleep(0.03)
    return last


# -- the properties ----------------------------------------------------------------------

def sent_text(case) -> str:
    body = case.body.decode("utf-8", "replace") if isinstance(case.body, bytes) else case.body
    return json.dumps([case.path_parameters, case.query, body, case.headers], default=str, ensure_ascii=False)


def assert_problem_json(case, response: requests.Response) -> None:
    where = f"{case.method} {case.formatted_path}"
    assert response.headers.get("Content-Type", "").split(";")[0] == "application/problem+json", \
        (where, response.status_code, response.headers.get("Content-Type"), response.text[:300])
    problem = response.json()
    assert isinstance(problem, dict), (where, problem)
    assert problem.get("status") == response.status_code, (where, problem)
    for key in ("type", "title", "detail"):
        assert isinstance(problem.get(key), str) and problem[key], (where, key, problem)
    errors = problem.get("errors", {})
    assert isinstance(errors, dict) and all(isinstance(k, str) and isinstance(v, list) for k, v in errors.items()), \
        (where, problem)
    # The caller's own input may be echoed back ("unknown member 'x'"); anything else is a leak.
    sent = sent_text(case)
    leaks = [m.group(0) for m in STACK_TRACE.finditer(response.text) if m.group(0) not in sent]
    assert not leaks, (where, leaks, response.text[:500])


class Fuzzer:
    def __init__(self, system: System, ids: dict):
        self.system = system
        self.ids = ids
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        self.dirty = True       # accepted writes may still be travelling
        self.calls = self.refused = self.replays = 0
        self.fingerprinting = self.settling = 0.0
        self.statuses = collections.Counter()
        self.slowest = (0.0, "")

    def check(self, case) -> None:
        if self.dirty:
            self.settle()
        where = f"{case.method} {case.formatted_path}"
        request = case.as_transport_kwargs(base_url=self.system.url)
        # The document declares bearer auth, so the case may carry a made-up token:
        # every call is the admin's, for the fuzzing to reach past authentication.
        request["headers"] = {k: v for k, v in request["headers"].items() if k.lower() != "authorization"}
        if "json" in request:
            text = json.dumps(request.pop("json"))
            request["data"] = text.replace(json.dumps(LONE_SURROGATE)[1:-1], "\\ud800").encode()
        before = self.fingerprint()
        response = self.send(case, request)
        assert response.status_code < 500, (where, response.status_code, response.text[:500], sent_text(case))
        if response.status_code < 400:
            self.dirty = self.dirty or case.method.upper() != "GET"
            return
        assert_problem_json(case, response)
        self.refused += 1
        changed = self.changes(before, where)
        if changed:
            # Something else may have landed meanwhile (the events of an accepted
            # write still travelling): settle, and send the same request again.
            self.replays += 1
            self.settle()
            before = self.fingerprint()
            again = self.send(case, request)
            changed = self.changes(before, where) if again.status_code >= 400 else {}
            self.dirty = again.status_code < 400
        assert not changed, (where, response.status_code, "refused, yet the store changed", changed, sent_text(case))

    def settle(self) -> None:
        started = time.monotonic()
        settle(self.system)
        self.settling += time.monotonic() - started
        self.dirty = False

    def send(self, case, request: dict) -> requests.Response:
        started = time.monotonic()
        response = self.session.request(**request, timeout=20)
        self.slowest = max(self.slowest, (time.monotonic() - started, f"{case.method} {case.formatted_path}"))
        self.calls += 1
        self.statuses[f"{case.method} {case.path}", response.status_code] += 1
        return response

    def fingerprint(self) -> dict:
        started = time.monotonic()
        found = fingerprint(self.system)
        self.fingerprinting += time.monotonic() - started
        return found

    def changes(self, before: dict, where: str) -> dict:
        after = self.fingerprint()
        before = dict(before)
        audited = after.pop(AUDIT, (0, ""))[0] - before.pop(AUDIT, (0, ""))[0]
        assert audited in (0, 1), (where, "audit entries for one call", audited)
        return {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}


@pytest.fixture(scope="module")
def fuzzer():
    # An HTTP command naming an unknown member or unit waits up to 3 s for it to
    # arrive (DESIGN.md rule 7); the fuzzer settles before every call, so
    # whatever exists has arrived: a short wait keeps the budget for examples.
    waits = commands.wait_briefly.__defaults__
    commands.wait_briefly.__defaults__ = (0.2, 0.05)
    with Vhost() as vhost:
        system = System(vhost.uri)
        try:
            system.start()
            ids = seed(system)
            fuzzer = Fuzzer(system, ids)
            yield fuzzer
            fuzzer.session.close()
        finally:
            stop_together(system)
            system.stop_all()
            commands.wait_briefly.__defaults__ = waits


def stop_together(system: System) -> None:
    """Stop the containers side by side: one by one, each takes a second or two."""
    pool = eventlet.GreenPool()
    for container in system.containers.values():
        pool.spawn(container.stop)
    pool.waitall()
    system.containers.clear()


def test_the_served_document_is_valid_openapi_3(fuzzer):
    from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

    served = fuzzer.session.get(f"{fuzzer.system.url}/api/v1/openapi.json", timeout=10).json()
    assert served == json.loads(json.dumps(DOCUMENT, default=str))
    errors = [str(e) for e in OPENAPI_30_VALIDATOR.iter_errors(served)]
    assert not errors, errors
    for path, operations in served["paths"].items():
        assert "<" not in path and ">" not in path, path
        templated = set(re.findall(r"{(\w+)}", path))
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == templated, (method, path, declared, templated)
            for status in operation["responses"]:
                if int(status) >= 400 and operation["responses"][status].get("content"):
                    assert "application/problem+json" in operation["responses"][status]["content"], (path, status)


def label(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("operation", OPERATIONS, ids=label)
def test_every_endpoint_holds_up(fuzzer, operation, mode):
    if mode is GenerationMode.NEGATIVE and not _has_input(operation):
        pytest.skip("no query or body to make invalid (a path parameter is any string: positive mode covers it)")
    strategy = operation.as_strategy(generation_mode=mode)

    @settings(max_examples=budget(EXAMPLES[mode]),
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(data=st.data())
    def run(data):
        case = data.draw(strategy)
        if case.path_parameters:
            case.path_parameters = realistic(case.path_parameters, data)
        if mode is GenerationMode.POSITIVE:     # negative data stays as made (the mutation may be an id)
            if case.query:
                case.query = realistic(case.query, data)
            if isinstance(case.body, dict):
                case.body = realistic(case.body, data)
        fuzzer.check(case)

    run()


def _has_input(operation) -> bool:
    raw = operation.definition.raw
    return bool(raw.get("requestBody") or any(p["in"] == "query" for p in raw.get("parameters", ())))


# -- oversized and deeply nested bodies (what tests/integration/test_bad_http_input.py
# does not cover: it sends a whole 1.1 MB body, and 100 levels) ----------------------

MAX_BODY_BYTES = 1_048_576      # the default (lianxin.config)


def raw_exchange(system: System, head: bytes, body: bytes, timeout: float = 5.0) -> tuple[int, bytes, float]:
    """Send a request's head and the start of its body on a socket; the status
    and what came back, and how long it took (the rest of the body never comes)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", system.port), timeout=timeout) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 4 + _length(answer):
            chunk = sock.recv(65536)        # socket.timeout if the server waits for the body instead
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer, time.monotonic() - started


def _length(answer: bytes) -> int:
    found = re.search(rb"(?i)content-length:\s*(\d+)", answer)
    return int(found.group(1)) if found else 0


def test_a_body_announced_too_large_is_refused_before_it_is_read(fuzzer):
    before = fingerprint(fuzzer.system)
    head = (b"POST /api/v1/members HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + ADMIN_TOKEN.encode() + b"\r\n"
            b"Content-Length: " + str(100 * MAX_BODY_BYTES).encode() + b"\r\n\r\n")
    status, answer, took = raw_exchange(fuzzer.system, head, b'{"name": "' + b"x" * 1000)
    assert status == 413 and b"application/problem+json" in answer, answer[:300]
    assert took < 3, took           # answered from the header: 100 MB were never awaited
    assert fuzzer.changes(before, "POST /api/v1/members (100 MB announced)") == {}


def test_a_chunked_body_over_the_limit_is_refused(fuzzer):
    def chunks():
        yield b'{"name": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = fuzzer.session.post(f"{fuzzer.system.url}/api/v1/members", data=chunks(),
                                   headers={"Content-Type": "application/json"}, timeout=20)
    assert response.status_code == 413, response.status_code      # cut off at the limit, not read to the end
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_small_chunked_body_is_read(fuzzer):
    body = b'{"id": "chunked-unit", "name": "chunked", "level": "street"}'
    response = fuzzer.session.post(f"{fuzzer.system.url}/api/v1/org-units", data=iter([body[:20], body[20:]]),
                                   headers={"Content-Type": "application/json"}, timeout=20)
    assert response.status_code in (200, 201), (response.status_code, response.text[:300])


@pytest.mark.parametrize("body", [b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
                                  b'{"name": ' + b"[" * 100_000, b"[" * 500_000],
                         ids=["arrays", "objects", "unclosed", "half-a-megabyte-deep"])
def test_deep_nesting_is_a_quick_400(fuzzer, body):
    started = time.monotonic()
    response = fuzzer.session.post(f"{fuzzer.system.url}/api/v1/org-units", data=body,
                                   headers={"Content-Type": "application/json"}, timeout=20)
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "_body" in response.json()["errors"]
    assert time.monotonic() - started < 3


def test_services_are_still_healthy_after_the_fuzzing(fuzzer):
    print(f"\nHTTP fuzz: {fuzzer.calls} calls, {fuzzer.refused} refused, {fuzzer.replays} replayed, fingerprints {fuzzer.fingerprinting:.1f} s, "
          f"settling {fuzzer.settling:.1f} s, "
          f"slowest call {fuzzer.slowest[0]:.2f} s ({fuzzer.slowest[1]})")
    if os.environ.get("LIANXIN_FUZZ_STATS"):
        for (operation, status), n in sorted(fuzzer.statuses.items()):
            print(f"  {operation:60} {status} x{n}")
    ready = fuzzer.session.get(f"{fuzzer.system.url}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["ready"] is True, ready.text
