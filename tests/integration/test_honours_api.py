"""Honours over HTTP and intake, against the real broker: a full nomination
cycle with public notice, eligibility from other services' events, quotas,
revocation, the register, and honours from higher bodies."""
from datetime import date, timedelta

from lianxin.clock import today
from tests.integration.test_bad_http_input import assert_problem
from tests.integration.test_membership_api import iso, register
from tests.support.system import eventually, intake_envelope

YEAR = today().year


def category(system, category_id, kind="individual", **extra):
    body = {"id": category_id, "name": {"individual": "优秀共产党员", "collective": "先进基层党组织"}[kind],
            "nominee_kind": kind, "awarding_body": "王哥庄街道党工委", **extra}
    response = system.post("/honour-categories", body)
    assert response.status_code == 201, response.text
    return response.json()


def cycle(system, nomination_id, start_days_ago=30):
    """approve, publicize, award: dated so the 5 working days of notice have passed."""
    for decision, days_ago in (("approve", start_days_ago), ("publicize", start_days_ago - 1),
                               ("award", start_days_ago - 12)):
        response = system.post(f"/nominations/{nomination_id}/decisions", {"decision": decision,
                                                                           "decided_on": iso(days_ago)})
        assert response.status_code == 200, response.text
    return response.json()


def test_a_full_cycle_with_public_notice_and_the_register(running):
    register(running, "m1")
    register(running, "m2")
    category(running, "yxgcdy", yearly_quota=1)
    assert running.post("/nominations", {"id": "n1", "category_id": "yxgcdy", "nominee_id": "m1", "year": YEAR,
                                         "nominated_on": iso(31), "reason": "峰会服务保障表现突出"}).status_code == 201
    running.post("/nominations/n1/decisions", {"decision": "approve", "decided_on": iso(30)})
    published = running.post("/nominations/n1/decisions", {"decision": "publicize", "decided_on": iso(29)}).json()
    assert date.fromisoformat(published["notice_ends_on"]) >= date.fromisoformat(iso(29)) + timedelta(days=5)
    objection = running.post("/nominations/n1/objections", {"raised_on": iso(28), "by": "群众来信",
                                                            "content": "反映情况"})
    assert objection.json()["objections"][0]["by"] == "群众来信"
    early = running.post("/nominations/n1/decisions", {"decision": "award", "decided_on": iso(28)})
    assert_problem(early, 409, "decided_on")
    awarded = running.post("/nominations/n1/decisions", {"decision": "award", "decided_on": iso(17)})
    assert awarded.json()["status"] == "awarded"
    running.post("/nominations", {"id": "n2", "category_id": "yxgcdy", "nominee_id": "m2", "year": YEAR,
                                  "nominated_on": iso(16)})
    for decision, days in (("approve", 16), ("publicize", 15)):
        running.post("/nominations/n2/decisions", {"decision": decision, "decided_on": iso(days)})
    over = running.post("/nominations/n2/decisions", {"decision": "award", "decided_on": iso(2)})
    assert "quota" in assert_problem(over, 409, "category_id")["detail"]
    assert_problem(running.post("/nominations/n2/decisions", {"decision": "approve", "decided_on": iso(1)}), 409,
                   "decision")

    register_ = running.get("/honours", org_unit_id="wgz", year=YEAR).json()
    assert [(h["nominee_id"], h["category"]) for h in register_["honours"]] == [("m1", "优秀共产党员")]
    assert running.get("/honours", member_id="m1").json()["count"] == 1
    figures = eventually(lambda: running.summary("wgz", f"{YEAR}-01-01", iso(0)).get("honours", {})
                         .get("individual") == 1 and running.summary("wgz", f"{YEAR}-01-01", iso(0))["honours"],
                         message="honour counted")
    assert figures["by_category"] == {"优秀共产党员": 1}
    revoked = running.post("/nominations/n1/decisions", {"decision": "revoke", "decided_on": iso(0),
                                                         "note": "违纪"})
    assert revoked.json()["status"] == "revoked"
    eventually(lambda: running.summary("wgz", f"{YEAR}-01-01", iso(0)).get("honours", {}).get("individual") == 0,
               message="revocation counted")


def test_eligibility_comes_from_other_services_events(running):
    register(running, "m1")
    register(running, "a1", stage="applicant", stage_since=iso(400))
    register(running, "m3")
    for m in ("m3", "m4", "m5"):
        if m != "m3":
            register(running, m)
    category(running, "yxgcdy")
    applicant = running.post("/nominations", {"category_id": "yxgcdy", "nominee_id": "a1", "year": YEAR})
    assert "active full member" in assert_problem(applicant, 409, "nominee_id")["detail"]
    assert running.post("/appraisals", {"member_id": "m3", "year": YEAR, "grade": "unqualified"}).status_code == 201
    graded = eventually(lambda: running.post("/nominations", {"category_id": "yxgcdy", "nominee_id": "m3",
                                                              "year": YEAR}).status_code == 409,
                        message="the appraisal reached honours")
    assert graded

    category(running, "xjjc", kind="collective", exclude_overdue_rectification=True)
    running.post("/inspection-rounds", {"id": "r1", "name": "巡诊", "scope_org_unit_ids": ["ca"],
                                        "checklist": [{"item": "三会一课", "max_score": 10}], "starts_on": iso(30),
                                        "ends_on": iso(-5), "inspectors": ["insp"]})
    running.post("/inspection-rounds/r1/assessments", {"org_unit_id": "ca", "inspected_on": iso(20),
                                                       "scores": {"三会一课": 5}, "findings": [
                                                           {"id": "f1", "item": "三会一课", "severity": "high",
                                                            "description": "缺记录"}]})
    running.post("/findings/f1/rectification", {"owner": "ca", "due_on": iso(10), "plan": "补齐"})
    eventually(lambda: running.store("honours").eligibility.overdue_in("ca", today()) == 1,
               message="the overdue rectification reached honours")
    blocked = running.post("/nominations", {"category_id": "xjjc", "nominee_id": "ca", "year": YEAR})
    assert "overdue rectification" in assert_problem(blocked, 409, "nominee_id")["detail"]
    assert running.post("/nominations", {"category_id": "xjjc", "nominee_id": "cb", "year": YEAR}).status_code == 201


def test_honours_from_higher_bodies_arrive_by_intake(running):
    award = intake_envelope("honour_awarded", {"title": "上合组织青岛峰会服务保障工作先进集体", "nominee_kind": "collective",
                                               "nominee_id": "wgz", "awarding_body": "青岛市委、市政府",
                                               "awarded_on": iso(3)}, org_unit_id="wgz")
    unknown = intake_envelope("honour_awarded", {"title": "先进集体", "nominee_kind": "collective",
                                                 "nominee_id": "c-new", "awarding_body": "崂山区委",
                                                 "awarded_on": iso(3)}, org_unit_id="c-new")
    running.publish_intake([award, award, unknown])
    honours = eventually(lambda: running.get("/honours", org_unit_id="wgz").json()["honours"] or None,
                         message="external honour registered")
    assert [(h["category"], h["awarding_body"]) for h in honours] == [("上合组织青岛峰会服务保障工作先进集体", "青岛市委、市政府")]
    running.post("/org-units", {"id": "c-new", "name": "新社区", "level": "community", "parent_id": "za"})
    eventually(lambda: running.get("/honours", org_unit_id="c-new").json().get("count") == 1, timeout=30,
               message="applied once the unit is known")
    figures = eventually(lambda: len(running.summary("wgz", iso(10), iso(0)).get("honours", {})
                                     .get("from_higher_bodies", [])) == 2
                         and running.summary("wgz", iso(10), iso(0))["honours"], message="counted")
    assert figures["by_category"] == {"上合组织青岛峰会服务保障工作先进集体": 1, "先进集体": 1}
    # Both came from higher bodies: reported apart from the street's own 先进集体.
    assert (figures["collective"], figures["individual"]) == (0, 0)
    assert figures["from_higher_bodies"] == [
        {"title": "上合组织青岛峰会服务保障工作先进集体", "awarding_body": "青岛市委、市政府", "nominee_kind": "collective",
         "count": 1},
        {"title": "先进集体", "awarding_body": "崂山区委", "nominee_kind": "collective", "count": 1}]
