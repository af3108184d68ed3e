"""The committed catalog and broker definitions match the code (`make docs`)."""
import json

from scripts import generate_docs


def test_events_md_is_current():
    assert generate_docs.EVENTS_MD.read_text(encoding="utf-8") == generate_docs.events_markdown(), \
        "docs/events.md is stale: run `make docs`"


def test_broker_definitions_are_current():
    assert generate_docs.DEFINITIONS.read_text(encoding="utf-8") == generate_docs.definitions_json(), \
        "deploy/rabbitmq/definitions.json is stale: run `make docs`"


def test_definitions_declare_every_queue_with_its_dead_letter_queue():
    doc = json.loads(generate_docs.definitions_json())
    queues = {q["name"] for q in doc["queues"]}
    assert {"reporting.events", "reporting.events.dead", "membership.intake", "membership.intake.dead",
            "intake.unrouted"} <= queues
    assert any(b["source"] == "lianxin.intake" and b["routing_key"] == "member_registered" for b in doc["bindings"])
    assert [u["name"] for u in doc["users"]] == ["membership", "activities", "inspections", "honours", "reporting",
                                                 "gateway", "intake", "ops"]
    assert {p["user"] for p in doc["permissions"]} == {u["name"] for u in doc["users"]}
    assert any(t["user"] == "membership" and t["exchange"] == "lianxin.events" for t in doc["topic_permissions"])
    assert any(e["name"] == "nameko-rpc" and e["type"] == "topic" for e in doc["exchanges"])


def test_every_event_type_is_documented():
    text = generate_docs.events_markdown()
    for name in ("org_unit_created", "member_registered"):
        assert f"### `{name}` v1" in text
    assert "### `member_registered` (intake)" in text
