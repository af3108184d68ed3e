"""A few hundred fuzzed envelopes (tests/unit/test_fuzz_envelopes.py's
strategies: raw bytes, random JSON, deep nesting, mutated envelopes of every
intake command) published to lianxin.intake on a live system. Each one is
settled on its first delivery: applied (ok, or a duplicate), parked for a
retry (it names something not known yet), or rejected, and then readable in
GET /api/v1/rejections with its reason. Nothing is lost, nothing crashes a
consumer, and the services stay ready.
"""
from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter

import pytest
from hypothesis import Phase, given, settings, strategies as st

from lianxin.consumer import REJECT, BatchConsumer
from tests.conftest import budget
from tests.integration.test_fuzz_http import stop_together
from tests.support.system import eventually
from tests.unit.test_fuzz_envelopes import RAW, SAMPLES, mutated

MESSAGES = 300
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fuzzed(n: int) -> list[tuple[bytes, str]]:
    """n messages, the same ones every run (derandomized), each with its own event id."""
    found: list[tuple[bytes, str]] = []

    @settings(max_examples=n, phases=[Phase.generate])
    @given(case=st.one_of(mutated(), mutated(), mutated(),
                          st.tuples(RAW, st.sampled_from(sorted(SAMPLES) + ["nope"]))))
    def collect(case):
        found.append(case)

    collect()
    out = []
    for body, key in found:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            out.append((body, key))
            continue
        # The generated ids repeat from run to run: a fresh one per message (a made-up
        # id such as "x" stays as it is: two bodies under it must both be listed).
        out.append((UUID.sub(lambda _: str(uuid.uuid4()), text).encode("utf-8", "surrogatepass"), key))
    return out


def seed(system) -> None:
    """The world the samples name: units, members, a case, a round with a planned finding."""
    posts = [
        ("/org-units", {"id": "wgz", "name": "王哥庄街道", "level": "street"}),
        ("/org-units", {"id": "za", "name": "第一管区", "level": "zone", "parent_id": "wgz"}),
        ("/org-units", {"id": "ca", "name": "唐家庄社区", "level": "community", "parent_id": "za"}),
        ("/org-units", {"id": "cb", "name": "港东社区", "level": "community", "parent_id": "za"}),
        ("/party-orgs", {"id": "p-ca", "name": "唐家庄社区党支部", "kind": "branch", "org_unit_id": "ca"}),
        *[("/members", {"id": m, "name": m, "gender": "male", "birth_date": "1970-01-02", "org_unit_id": "ca",
                        "branch_id": "p-ca", "stage": "full", "admitted_on": "1995-07-01"})
          for m in ("f1", "f2", "f3", "m0")],
        ("/members", {"id": "a0", "name": "a0", "gender": "female", "birth_date": "1990-01-02", "org_unit_id": "ca",
                      "stage": "applicant", "stage_since": "2017-01-01"}),
        ("/cases", {"id": "k1", "kind": "dispute", "org_unit_id": "ca", "opened_on": "2018-06-01", "summary": "纠纷"}),
        ("/inspection-rounds", {"id": "r1", "name": "第一轮", "scope_org_unit_ids": ["wgz"],
                                "checklist": [{"item": "三会一课", "max_score": 30}, {"item": "主题党日", "max_score": 20}],
                                "starts_on": "2018-05-01", "ends_on": "2018-12-31", "inspectors": ["insp"]}),
        ("/inspection-rounds/r1/assessments", {"org_unit_id": "ca", "inspected_on": "2018-06-01",
                                               "scores": {"三会一课": 20, "主题党日": 10},
                                               "findings": [{"id": "fd1", "item": "三会一课", "severity": "high",
                                                             "description": "未按时开会"}]}),
        ("/findings/fd1/rectification", {"owner": "唐家庄党支部", "due_on": "2018-07-01", "plan": "补开会议"}),
    ]
    for path, body in posts:
        eventually(lambda: system.post(path, body).status_code in (200, 201), timeout=10, message=f"seed {path}")


@pytest.fixture
def settled(monkeypatch):
    """(body hash, queue, attempt, outcome) of every delivery an intake consumer settles."""
    seen: list[tuple[str, str, int, str]] = []
    settle = BatchConsumer._settle

    def recording(self, batch):
        if self.sub.intake:
            seen.extend((hashlib.sha256(d.body).hexdigest(), self.sub.queue, d.attempt, d.result.outcome)
                        for d in batch)
        return settle(self, batch)

    monkeypatch.setattr(BatchConsumer, "_settle", recording)
    return seen


def test_fuzzed_envelopes_are_each_applied_parked_or_listed_as_rejected(system, settled):
    system.start()
    seed(system)
    messages = fuzzed(budget(MESSAGES))
    by_key: dict[str, list[bytes]] = {}
    for body, key in messages:
        by_key.setdefault(key, []).append(body)
    for key, bodies in by_key.items():
        system.publish_intake(bodies, routing_key=key)
    published = Counter(hashlib.sha256(body).hexdigest() for body, _ in messages)

    def first_deliveries() -> Counter:
        return Counter(h for h, _, attempt, _ in list(settled) if attempt == 0)

    eventually(lambda: all(first_deliveries()[h] >= n for h, n in published.items()), timeout=60,
               message=f"each of the {len(messages)} messages settled once")
    first: dict[str, set] = {}
    rejected = set()            # (queue, body): the same body on two queues is two rejections
    for h, queue, attempt, outcome in list(settled):
        if attempt == 0 and h in published:
            first.setdefault(h, set()).add(outcome)
            if outcome == REJECT:
                rejected.add((queue, h))

    queues = {queue for queue, _ in rejected}      # the intake queues, and intake.unrouted (key "nope")

    def listed() -> list[dict]:
        found = system.get("/rejections", limit="1000").json()
        assert found["unavailable"] == [], found
        return [r for r in found["rejections"] if r["queue"] in queues and r["attempts"] == 1]

    # One record per rejected body (redeliveries of one body are one), each with its reason.
    records = eventually(lambda: (lambda found: found if len(found) >= len(rejected) else None)(listed()),
                         timeout=20, message=f"{len(rejected)} rejections listed")
    assert len(records) == len(rejected), (len(records), len(rejected))
    assert all(isinstance(r["reason"], str) and r["reason"].strip() for r in records)
    assert not [r for r in records if r["reason"].startswith("unreadable message")], \
        [r["reason"] for r in records if r["reason"].startswith("unreadable message")][:5]
    outcomes = Counter(o for h in published for o in first.get(h, ()))
    print(f"\nintake fuzz: {len(messages)} messages, first deliveries: {dict(outcomes)}")
    assert outcomes["ok"] > 0 and outcomes[REJECT] > 0, outcomes

    ready = system.http("GET", "/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True, ready.text
    stop_together(system)

