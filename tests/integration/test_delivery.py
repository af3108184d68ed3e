"""The backbone's delivery promises, against the real broker:
events wait for a stopped consumer, duplicates have one effect, bad and
poison events are parked with a reason, force-closed connections lose and
double nothing."""
import time

from lianxin.catalog import CATALOG
from lianxin.envelope import encode
from lianxin.publisher import ConfirmPublisher, Outgoing
from lianxin.topology import EVENTS_EXCHANGE
from lianxin import membership_view
from tests.integration.test_http_to_report import seed_tree
from tests.support.system import eventually, intake_envelope


def member_body(i: int, unit: str = "c1") -> dict:
    return {"name": f"党员{i}", "gender": "female" if i % 2 else "male", "birth_date": "1980-05-05",
            "org_unit_id": unit, "stage": "full", "admitted_on": "2005-07-01"}


def stored_events(system, event_type="member_registered") -> int:
    return system.store("reporting").db["events"].count_documents({"event_type": event_type})


def test_events_published_while_the_consumer_is_down_are_applied_once_on_return(system):
    system.start()
    seed_tree(system)
    eventually(lambda: system.summary("wgz").get("members") is not None, message="tree in reporting")
    system.stop("reporting")
    for i in range(30):
        assert system.post("/members", {"id": f"m{i}", **member_body(i)}).status_code == 201
    time.sleep(0.5)  # the relay has published them; they wait in reporting.events

    system.start("reporting")
    eventually(lambda: system.summary("wgz").get("members", {}).get("total") == 30, message="30 members")
    assert stored_events(system) == 30
    assert system.store("reporting").model.applied == 33  # 3 org units + 30 members, once each


def test_a_domain_event_delivered_twice_has_one_effect(system):
    system.start("reporting")
    unit = CATALOG.new_event("org_unit_created", {"org_unit_id": "s", "name": "街道", "level": "street",
                                                  "parent_id": None}, source="membership", org_unit_id="s")
    member = CATALOG.new_event("member_registered", {
        "member_id": "m1", "name": "张三", "gender": "male", "birth_date": "1970-01-01", "org_unit_id": "s",
        "stage": "full", "stage_since": "2001-07-01", "admitted_on": "2000-07-01"},
        source="membership", org_unit_id="s")
    publisher = ConfirmPublisher(system.config["AMQP_URI"])
    try:
        for env in (unit, member, member, unit, member):
            publisher.publish([Outgoing(EVENTS_EXCHANGE, env["event_type"], encode(env), env["event_id"])])
    finally:
        publisher.close()
    store = system.store("reporting")
    eventually(lambda: store.model.applied == 2, message="two applied")
    time.sleep(0.3)
    assert store.model.applied == 2
    assert store.model.summary("s", *_year(2018))["members"]["total"] == 1


def test_the_same_intake_event_id_twice_registers_one_member(system):
    system.start()
    seed_tree(system)
    env = intake_envelope("member_registered", member_body(1))
    system.publish_intake([env, env])
    system.publish_intake([env])
    eventually(lambda: system.get(f"/members/{env['event_id']}").status_code == 200, message="member via intake")
    eventually(lambda: system.summary("wgz").get("members", {}).get("total") == 1, message="one in summary")
    time.sleep(0.3)
    assert system.store("membership").db["members"].count_documents({}) == 1
    assert stored_events(system) == 1


def test_invalid_intake_events_are_dead_lettered_with_reason_and_the_next_still_applies(system, vhost):
    system.start()
    seed_tree(system)
    bad_data = intake_envelope("member_registered", {**member_body(1), "gender": "robot", "id_number": "123"})
    not_json = b'{"event_type": "member_registered", this is not json'
    good = intake_envelope("member_registered", member_body(2))
    system.publish_intake([bad_data])
    system.publish_intake([not_json], routing_key="member_registered")
    system.publish_intake([good])

    eventually(lambda: system.get(f"/members/{good['event_id']}").status_code == 200, message="good applied")
    rejections = eventually(lambda: len(system.get("/rejections").json()["rejections"]) >= 2
                            and system.get("/rejections").json()["rejections"], message="two rejections")
    by_id = {r["event_id"]: r for r in rejections}
    bad = by_id[bad_data["event_id"]]
    assert bad["queue"] == "membership.intake" and bad["event_type"] == "member_registered"
    assert set(bad["errors"]) >= {"data.gender", "data.id_number"}
    garbled = next(r for r in rejections if r["event_id"] is None)
    assert "not valid JSON" in garbled["errors"]["_body"][0]
    eventually(lambda: vhost.queue_depths().get("membership.intake.dead") == 2, message="2 parked in the DLQ")
    assert system.get(f"/members/{bad_data['event_id']}").status_code == 404


def test_an_event_whose_handler_always_raises_is_dead_lettered_and_the_rest_apply(system, vhost, monkeypatch):
    original = membership_view.MembershipView._on_member_registered

    def poisoned(self, data):
        if data["name"] == "毒":
            raise ValueError("cannot project this member")
        return original(self, data)

    monkeypatch.setattr(membership_view.MembershipView, "_on_member_registered", poisoned)
    system.start()
    seed_tree(system)
    system.post("/members", {"id": "p1", **member_body(0), "name": "毒"})
    for i in range(5):
        system.post("/members", {"id": f"ok{i}", **member_body(i)})
    eventually(lambda: system.summary("wgz").get("members", {}).get("total") == 5, message="5 healthy members")
    rejection = eventually(lambda: [r for r in system.get("/rejections").json()["rejections"]
                                    if r["queue"] == "reporting.events"], message="poison rejected")[0]
    assert "ValueError: cannot project this member" in rejection["reason"]
    eventually(lambda: vhost.queue_depths().get("reporting.events.dead") == 1, message="parked")
    # The poison event is not in the event store: nothing half-applied.
    assert stored_events(system) == 5


def test_intake_of_an_unknown_event_type_is_rejected_not_dropped(system, vhost):
    system.start()
    env = intake_envelope("weather_reported", {"sky": "blue"}, org_unit_id="wgz")
    system.publish_intake([env])
    rejection = eventually(lambda: [r for r in system.get("/rejections").json()["rejections"]
                                    if r["event_id"] == env["event_id"]], message="unrouted rejected")[0]
    assert rejection["queue"] == "intake.unrouted"
    assert "weather_reported" in rejection["reason"]


def test_an_intake_member_for_a_unit_registered_a_moment_later_is_applied(system, vhost):
    system.start()
    seed_tree(system)
    env = intake_envelope("member_registered", member_body(1, unit="c-late"))
    system.publish_intake([env])
    # In some retry tier (one look at all of them: each look takes rabbitmqctl a
    # second or two, longer than the first tiers hold a message).
    eventually(lambda: sum(n for queue, n in vhost.queue_depths().items()
                           if queue.startswith("membership.intake.retry.")) >= 1, message="waiting to retry")
    system.post("/org-units", {"id": "c-late", "name": "晚到社区", "level": "community", "parent_id": "z1"})
    eventually(lambda: system.get(f"/members/{env['event_id']}").status_code == 200, timeout=30,
               message="applied after retry")
    assert system.get("/rejections").json()["rejections"] == []


def _year(year: int):
    from datetime import date
    return date(year, 1, 1), date(year, 12, 31)


def test_a_rejected_intake_event_keeps_no_personal_data_in_clear(system):
    system.start()
    seed_tree(system)
    env = intake_envelope("member_registered", {**member_body(1), "gender": "robot",
                                                "id_number": "11010519491231002X", "phone": "13912345678"})
    system.publish_intake([env])
    rejection = eventually(lambda: [r for r in system.get("/rejections").json()["rejections"]
                                    if r["event_id"] == env["event_id"]], message="rejected")[0]
    assert "11010519491231002X" not in rejection["body"] and "13912345678" not in rejection["body"]
    assert "110***********002X" in rejection["body"]
