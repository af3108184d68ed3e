"""Inspections over HTTP and intake, against the real broker: a round over a
scope, assessments with findings, rectification to the end, evidence from
activities, and the summary figures."""
from tests.integration.test_bad_http_input import assert_problem
from tests.integration.test_membership_api import iso, register
from tests.support.system import eventually, intake_envelope

CHECKLIST = [{"item": "三会一课", "max_score": 30}, {"item": "主题党日", "max_score": 20},
             {"item": "组织生活会", "max_score": 20, "weight": 2}]


def scores(a=25, b=18, c=15):
    return {"三会一课": a, "主题党日": b, "组织生活会": c}


def open_round(system, round_id="r1", **extra):
    body = {"id": round_id, "name": "2018年第一轮党建巡诊", "scope_org_unit_ids": ["wgz"], "checklist": CHECKLIST,
            "starts_on": iso(30), "ends_on": iso(-30), "inspectors": ["insp-wang"], **extra}
    response = system.post("/inspection-rounds", body)
    assert response.status_code == 201, response.text
    return response.json()


def summary(system, unit="wgz"):
    return system.summary(unit, iso(60), iso(0))


def test_a_round_assesses_the_communities_of_its_scope(running):
    rnd = eventually(lambda: running.post("/inspection-rounds", {
        "id": "r1", "name": "第一轮", "scope_org_unit_ids": ["wgz"], "checklist": CHECKLIST,
        "starts_on": iso(30), "ends_on": iso(-30), "inspectors": ["insp-wang"]}), message="round opened")
    assert rnd.status_code == 201
    # The communities it assesses: as soon as the tree has reached inspections.
    eventually(lambda: running.get("/inspection-rounds/r1").json()["unit_ids"] == ["ca", "cb"],
               message="the round's communities")
    bad = running.post("/inspection-rounds/r1/assessments", {"org_unit_id": "ca", "inspected_on": iso(2),
                                                             "scores": {"三会一课": 31, "主题党日": 18}})
    problem = assert_problem(bad, 400, "scores.三会一课", "scores.组织生活会")
    assert "between 0 and 30" in problem["errors"]["scores.三会一课"][0]
    outside = running.post("/inspection-rounds/r1/assessments", {"org_unit_id": "za", "inspected_on": iso(2),
                                                                 "scores": scores()})
    assert_problem(outside, 400, "org_unit_id")
    first = running.post("/inspection-rounds/r1/assessments", {
        "id": "as-ca", "org_unit_id": "ca", "inspected_on": iso(2), "scores": scores(), "inspector": "insp-wang",
        "findings": [{"id": "f1", "item": "三会一课", "severity": "high", "description": "党课记录不全"}]})
    assert first.status_code == 201 and first.json()["total"] == round(100 * (25 / 30 + 18 / 20 + 2 * 15 / 20) / 4, 2)
    assert running.post("/inspection-rounds/r1/assessments", {"id": "as-ca", "org_unit_id": "ca",
                        "inspected_on": iso(2), "scores": scores(), "inspector": "insp-wang", "findings": [
                            {"id": "f1", "item": "三会一课", "severity": "high",
                             "description": "党课记录不全"}]}).status_code == 200
    assert_problem(running.post("/inspection-rounds/r1/assessments", {"org_unit_id": "ca", "inspected_on": iso(1),
                                                                      "scores": scores()}), 409, "org_unit_id")
    running.post("/inspection-rounds/r1/assessments", {"org_unit_id": "cb", "inspected_on": iso(1),
                                                       "scores": scores(30, 20, 20)})
    ranking = running.get("/inspection-rounds/r1/ranking").json()
    assert [r["org_unit_id"] for r in ranking["ranking"]] == ["cb", "ca"] and ranking["remaining"] == []
    assert running.post("/inspection-rounds/r1/close", {"closed_on": iso(0)}).status_code == 200
    assert_problem(running.post("/findings", {"round_id": "r1", "org_unit_id": "ca", "item": "x",
                                              "severity": "low", "description": "x", "found_on": iso(0)}), 409)

    second = running.post("/inspection-rounds", {"id": "r2", "name": "第二轮", "scope_org_unit_ids": ["za", "zb"],
                                                 "checklist": CHECKLIST, "starts_on": iso(0), "ends_on": iso(-20),
                                                 "follows_round_id": "r1"})
    assert second.status_code == 201
    assert running.get("/inspection-rounds/r2").json()["unit_ids"] == ["ca", "cb"]
    running.post("/inspection-rounds/r2/assessments", {"org_unit_id": "ca", "inspected_on": iso(0),
                                                       "scores": scores()})
    figures = eventually(lambda: summary(running).get("inspections", {}).get("assessments") == 3
                         and summary(running)["inspections"], message="three assessments counted")
    assert (figures["rounds"], figures["units_inspected"], figures["findings"]) == (2, 2, 1)


def test_rectification_to_the_end(running):
    open_round(running)
    running.post("/inspection-rounds/r1/assessments", {
        "org_unit_id": "ca", "inspected_on": iso(5), "scores": scores(),
        "findings": [{"id": "f1", "item": "主题党日", "severity": "medium", "description": "未按月开展"}]})
    assert_problem(running.post("/findings/f1/rectification", {"owner": "唐家庄党委", "due_on": iso(6),
                                                                "plan": "x"}), 400, "due_on")
    assert running.post("/findings/f1/rectification", {"owner": "唐家庄党委", "due_on": iso(1),
                                                       "plan": "每月开展主题党日"}).status_code == 200
    unit = running.get("/inspection-rounds/r1/units/ca").json()
    assert unit["overdue"][0]["days_overdue"] == 1 and unit["open_findings"][0]["id"] == "f1"
    eventually(lambda: summary(running, "ca").get("inspections", {}).get("overdue") == 1, message="overdue")
    assert running.post("/findings/f1/progress", {"started_on": iso(3)}).status_code == 200
    assert running.post("/findings/f1/submission", {"submitted_on": iso(1),
                                                    "evidence": "6月主题党日记录"}).status_code == 200
    assert_problem(running.post("/findings/f1/verification", {"verified_on": iso(0), "passed": True,
                                                               "inspector": "somebody"}), 409, "inspector")
    failed = running.post("/findings/f1/verification", {"verified_on": iso(0), "passed": False,
                                                        "inspector": "insp-wang", "note": "记录不完整"})
    assert failed.json()["status"] == "reopened"
    running.post("/findings/f1/submission", {"submitted_on": iso(0), "evidence": "补充记录"})
    done = running.post("/findings/f1/verification", {"verified_on": iso(0), "passed": True,
                                                      "inspector": "insp-wang"})
    assert done.json()["status"] == "verified"
    figures = eventually(lambda: summary(running, "ca").get("inspections", {}).get("rectified") == 1
                         and summary(running, "ca")["inspections"], message="rectified")
    assert figures["overdue"] == 0
    back = running.post("/findings/f1/follow-ups", {"visited_on": iso(0), "recurred": True,
                                                    "inspector": "insp-wang", "note": "回头看发现问题反弹"})
    assert back.json()["status"] == "reopened"
    assert [h["status"] for h in back.json()["history"]] == [
        "confirmed", "planned", "in_progress", "submitted", "reopened", "submitted", "verified", "reopened"]
    eventually(lambda: summary(running, "ca").get("inspections", {}).get("rectified") == 0, message="reopened")


def test_evidence_from_activities_is_prefilled(running):
    register(running, "m1")
    open_round(running)
    running.post("/activities", {"id": "td", "kind": "theme_day", "title": "主题党日", "org_unit_id": "ca",
                                 "scheduled_for": iso(10)})
    running.post("/activities/td/record", {"held_on": iso(10), "attendee_ids": ["m1"]})
    evidence = eventually(lambda: running.get("/inspection-rounds/r1/units/ca").json()["evidence"]["held_by_kind"]
                          or None, message="evidence arrived")
    assert evidence == {"theme_day": 1}


def test_intake_of_assessments_and_evidence(running):
    open_round(running)
    assessment = intake_envelope("assessment_recorded", {"round_id": "r1", "org_unit_id": "cb",
                                                         "inspected_on": iso(1), "scores": scores(),
                                                         "findings": [{"id": "fx", "item": "三会一课",
                                                                       "severity": "low", "description": "缺记录"}]},
                                 org_unit_id="cb")
    running.publish_intake([assessment, assessment])
    eventually(lambda: running.get("/findings/fx").status_code == 200, message="assessment via intake")
    running.post("/findings/fx/rectification", {"owner": "港东党委", "due_on": iso(-10), "plan": "补齐"})
    evidence = intake_envelope("rectification_submitted", {"finding_id": "fx", "submitted_on": iso(0),
                                                           "evidence": "已补齐"}, org_unit_id="cb")
    outside = intake_envelope("assessment_recorded", {"round_id": "r1", "org_unit_id": "za", "inspected_on": iso(1),
                                                      "scores": scores()}, org_unit_id="za")
    running.publish_intake([evidence, evidence, outside])
    eventually(lambda: running.get("/findings/fx").json()["status"] == "submitted", message="evidence via intake")
    rejection = eventually(lambda: [r for r in running.get("/rejections").json()["rejections"]
                                    if r["event_id"] == outside["event_id"]], message="outside scope rejected")[0]
    assert "org_unit_id" in rejection["errors"]
    finding = running.get("/findings/fx").json()
    assert [h["status"] for h in finding["history"]].count("submitted") == 1
