"""Scale-out: two instances of every consuming service on the same queues and
the same store give the same reports as one instance of each.

The same mixed load (a tree over HTTP, members by intake, stage changes and a
transfer over HTTP, deeds by intake with several of a member-week near the
weekly points cap, activities and cases by intake, an inspection round with a
finding, an honour from a higher body) runs once against one instance of each
service and once against two of each consuming service (membership,
activities, inspections, honours, reporting; the gateway is one). RabbitMQ
spreads every queue's deliveries and every RPC over the two; each keeps its
in-memory read model in step with what the other stored (lianxin.follow),
and the weekly cap holds across them (activities' week guard).
"""
from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from datetime import timedelta

from lianxin.clock import today
from services.activities.domain import iso_week
from services.reporting import handlers as reporting_handlers
from services.reporting.reports import REPORTS
from tests.integration.test_http_to_report import seed_tree
from tests.support.broker import Vhost
from tests.support.system import System, eventually, intake_envelope

TODAY = today()
CAP = {"帮扶": {"points": 2, "weekly_cap": 5}}
CONSUMING = ("membership", "activities", "inspections", "honours", "reporting")
CHECKLIST = [{"item": "三会一课", "max_score": 30}, {"item": "主题党日", "max_score": 20}]
MEMBERS = [f"m{i}" for i in range(16)]
NEAR_CAP = MEMBERS[:4]          # four 2-point deeds each in one week: 8 asked, the cap is 5
FROM, TO = (TODAY - timedelta(days=400)), TODAY


def iso(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def unit_of(member_id: str) -> str:
    return "c1" if int(member_id[1:]) % 2 == 0 else "c2"


def eid(label: str) -> str:
    """The same event id for the same label in both runs (a uuid4 in form)."""
    return str(uuid.UUID(bytes=uuid.uuid5(uuid.NAMESPACE_URL, f"lianxin-scale-out:{label}").bytes, version=4))


# -- the load ----------------------------------------------------------------------------------

def seed(system: System) -> None:
    seed_tree(system)                                           # wgz > z1 > c1
    assert system.post("/org-units", {"id": "c2", "name": "港东社区", "level": "community",
                                      "parent_id": "z1"}).status_code == 201
    for body in ({"id": "p-wgz", "name": "王哥庄街道党工委", "kind": "working_committee", "org_unit_id": "wgz"},
                 {"id": "p-c1", "name": "唐家庄社区党支部", "kind": "branch", "parent_id": "p-wgz", "org_unit_id": "c1"},
                 {"id": "p-c2", "name": "港东社区党支部", "kind": "branch", "parent_id": "p-wgz", "org_unit_id": "c2"}):
        assert system.post("/party-orgs", body).status_code == 201


def register_members(system: System) -> None:
    envelopes = []
    for m in MEMBERS:
        data = {"id": m, "name": f"党员{m}", "gender": "male", "birth_date": "1970-03-03", "org_unit_id": unit_of(m),
                "branch_id": f"p-{unit_of(m)}"}
        if m in ("m14", "m15"):
            data.update(stage="activist", stage_since=iso(400))
        else:
            data.update(stage="full", admitted_on="2000-07-01")
        envelopes.append(intake_envelope("member_registered", data, event_id=eid(f"reg-{m}")))
    system.publish_intake(envelopes)
    for m in MEMBERS:
        eventually(lambda m=m: system.get(f"/members/{m}").status_code == 200, timeout=30, message=f"{m} registered")


def change_members(system: System) -> None:
    for m in ("m14", "m15"):
        changed = system.post(f"/members/{m}/stage-changes", {"stage": "candidate", "effective_on": iso(30)})
        assert changed.status_code == 200, changed.text
    letter = system.post("/members/m1/transfers", {"id": "t1", "to_org_unit_id": "c1", "to_branch_id": "p-c1",
                                                    "issued_on": iso(20)})
    assert letter.status_code == 201, letter.text
    assert system.post("/transfers/t1/receipt", {"received_on": iso(19)}).status_code == 200


def record_deeds(system: System) -> int:
    """Deeds by intake in several small publishes, so the two instances take
    deeds of the same member-week at the same time."""
    deeds = []
    for round_no in range(4):
        for m in NEAR_CAP:
            deeds.append(("帮扶", m, round_no))
    for m in MEMBERS[4:14]:
        deeds.append(("调解", m, 0))
        deeds.append(("帮扶", m, 1))
    for n, (category, m, k) in enumerate(deeds):
        env = intake_envelope("deed_recorded", {"id": f"d-{m}-{n}", "member_id": m, "done_on": TODAY.isoformat(),
                                                "category": category, "description": f"小事{k}"},
                              event_id=eid(f"deed-{n}"), org_unit_id=unit_of(m))
        system.publish_intake([env])
    return len(deeds)


def hold_activities(system: System) -> None:
    envelopes = []
    for n, unit in enumerate(("c1", "c2", "c1", "c2")):
        members = [m for m in MEMBERS if unit_of(m) == unit and m not in ("m1", "m14", "m15")]
        envelopes.append(intake_envelope("activity_held", {
            "id": f"a{n}", "kind": "theme_day",
            "title": f"主题党日{n}", "org_unit_id": unit, "held_on": iso(n + 1), "attendee_ids": members[:5]},
            event_id=eid(f"held-{n}"), org_unit_id=unit))
    for n, kind in enumerate(("difficult_matter", "dispute")):
        envelopes.append(intake_envelope("case_opened", {
            "id": f"case{n}", "kind": kind, "org_unit_id": "c1", "opened_on": iso(5), "summary": f"事项{n}"},
            event_id=eid(f"case-{n}"), org_unit_id="c1"))
    system.publish_intake(envelopes)


def inspect(system: System) -> None:
    opened = eventually(lambda: (lambda r: r if r.status_code == 201 else None)(system.post("/inspection-rounds", {
        "id": "r1", "name": "第一轮党建巡诊", "scope_org_unit_ids": ["wgz"], "checklist": CHECKLIST,
        "starts_on": iso(30), "ends_on": iso(-30), "inspectors": ["insp-wang"]})), message="round opened")
    assert opened.status_code == 201
    eventually(lambda: system.get("/inspection-rounds/r1").json()["unit_ids"] == ["c1", "c2"], message="round units")
    assessed = system.post("/inspection-rounds/r1/assessments", {
        "id": "as-c1", "org_unit_id": "c1", "inspected_on": iso(2), "scores": {"三会一课": 25, "主题党日": 18},
        "inspector": "insp-wang",
        "findings": [{"id": "f1", "item": "三会一课", "severity": "high", "description": "党课记录不全"}]})
    assert assessed.status_code == 201, assessed.text


def award(system: System) -> None:
    system.publish_intake([intake_envelope("honour_awarded", {
        "title": "优秀共产党员", "nominee_kind": "individual", "nominee_id": "m3", "awarding_body": "崂山区委",
        "awarded_on": iso(3)}, event_id=eid("honour-m3"), org_unit_id=unit_of("m3"))])


# -- one run -------------------------------------------------------------------------------------

def count_batches(system: System) -> dict:
    """Wrap every instance's consumers' handler to count the events each took."""
    counts: dict = {}
    for name in CONSUMING:
        for n, container in enumerate(system.instances(name)):
            for ext in container.entrypoints:
                consumer = getattr(ext, "consumer", None)
                if consumer is None:
                    continue
                key = (name, n, consumer.sub.queue)
                counts[key] = 0

                def counting(events, handler=consumer.handler, key=key):
                    counts[key] += len(events)
                    return handler(events)
                consumer.handler = counting
    return counts


def settled(system: System, expected_deeds: int) -> bool:
    reporting = system.stores("reporting")
    stored = reporting[0].db["events"].count_documents({})
    if any(store.model.applied != stored for store in reporting):
        return False
    figures = [store.model.summary("wgz", FROM, TO) for store in reporting]
    return all(f["deeds"]["total"] == expected_deeds and f["members"]["total"] == len(MEMBERS)
               and f["inspections"]["assessments"] == 1 and f["honours"].get("from_higher_bodies")
               for f in figures)


def normal(value):
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def answers(system: System) -> dict:
    """What the reports say: through the gateway, and from each reporting instance."""
    query = {"org_unit_id": "wgz", "from": FROM.isoformat(), "to": TO.isoformat()}
    out = {"summary": system.get("/reports/summary", **query).json(),
           "reports": {name: system.get(f"/reports/{name}", **query).json() for name in sorted(REPORTS)},
           "weekly": system.get("/org-units/wgz/deeds/weekly", week=iso_week(TODAY)).json(),
           "obligations": system.get("/obligations", org_unit_id="wgz", **{"from": iso(60), "to": iso(0)}).json()}
    instances = []
    for store in system.stores("reporting"):
        model_query = {"org_unit_id": "wgz", "from_": FROM, "to": TO}
        instances.append({
            "summary": normal(store.model.summary("wgz", FROM, TO)),
            "reports": {name: normal(reporting_handlers.report(store, name, dict(model_query), TODAY))
                        for name in sorted(REPORTS)},
        })
    out["instances"] = instances
    return normal(out)


def views(system: System) -> list:
    """Each instance's membership view (activities, inspections, honours), as answers."""
    out = []
    for name in ("activities", "inspections", "honours"):
        for store in system.stores(name):
            view = store.view
            out.append((name, view.known_units(), view.members_on(view.subtree("wgz"), TODAY),
                        view.count_members(["c1"], TODAY), view.count_members(["c2"], TODAY)))
    return out


def run(replicas: int) -> dict:
    with Vhost() as vhost:
        system = System(vhost.uri)
        system.config["DEED_POINTS"] = CAP
        try:
            system.start()
            for name in CONSUMING:
                for _ in range(replicas - 1):
                    system.start_instance(name)
            counts = count_batches(system)
            seed(system)
            register_members(system)
            change_members(system)
            # A deed takes its unit from the member's unit that day as the
            # instance recording it knows it: the transfer must have reached
            # (or been followed by) every activities instance, as with one.
            eventually(lambda: all(s.view.member("m1") is not None and s.view.member("m1").unit_on(TODAY) == "c1"
                                   for s in system.stores("activities")), message="the transfer known to activities")
            expected_deeds = record_deeds(system)
            hold_activities(system)
            inspect(system)
            award(system)
            eventually(lambda: settled(system, expected_deeds), timeout=60, message="reports settled")
            time.sleep(1.0)     # nothing more arrives: the same answers a moment later
            assert settled(system, expected_deeds)
            result = answers(system)
            assert all(i == result["instances"][0] for i in result["instances"]), "reporting instances differ"
            activities = system.store("activities")
            deeds = list(activities.db["deeds"].find({}, {"member_id": 1, "week": 1, "category": 1, "points": 1}))
            points = Counter()
            for d in deeds:
                points[(d["member_id"], d["week"], d["category"])] += d["points"]
            result["points"] = {f"{m}|{w}|{c}": p for (m, w, c), p in sorted(points.items())}
            result["deeds_stored"] = len(deeds)
            result["views"] = normal(views(system))
            result["counts"] = {"|".join(map(str, key)): n for key, n in counts.items()}
            result["events_stored"] = system.store("reporting").db["events"].count_documents({})
            result["applied"] = [s.model.applied for s in system.stores("reporting")]
            result["followed"] = {name: [s.follower.followed for s in system.stores(name)]
                                  for name in ("activities", "inspections", "honours", "reporting")}
            return result
        finally:
            system.stop_all()


def test_two_instances_of_each_service_report_what_one_does():
    one = run(1)
    two = run(2)
    if os.environ.get("SCALE_OUT_DUMP"):        # a file to write both runs' answers to, to compare by eye
        with open(os.environ["SCALE_OUT_DUMP"], "w") as f:
            json.dump({"one": one, "two": two}, f, ensure_ascii=False, indent=1, default=str)

    # The weekly cap held, however the deeds of a member-week were spread.
    week = iso_week(TODAY)
    for m in NEAR_CAP:
        assert two["points"][f"{m}|{week}|帮扶"] == 5, two["points"]
    assert two["points"] == one["points"]
    assert two["deeds_stored"] == one["deeds_stored"]

    # Every event stored and applied once, in every reporting instance.
    assert two["events_stored"] == one["events_stored"]
    assert two["applied"] == [two["events_stored"]] * 2
    assert one["applied"] == [one["events_stored"]]

    # The same reports, through the gateway and from each instance.
    for part in ("summary", "reports", "weekly", "obligations"):
        assert two[part] == one[part], part
    assert two["instances"] == one["instances"] * 2

    # The same membership in every instance's view.
    names = [v[0] for v in two["views"]]
    assert names == ["activities", "activities", "inspections", "inspections", "honours", "honours"]
    assert [v[1:] for v in two["views"]] == [v[1:] for v in one["views"] for _ in range(2)]

    # Both instances of every consuming service took a share of its queues,
    # and those with a read model followed what the other stored.
    for name in CONSUMING:
        for n in range(2):
            taken = sum(c for key, c in two["counts"].items() if key.startswith(f"{name}|{n}|"))
            assert taken > 0, (name, n, two["counts"])
    for name, followed in two["followed"].items():
        assert all(f > 0 for f in followed), (name, followed)
    assert all(f == 0 for followed in one["followed"].values() for f in followed), one["followed"]
