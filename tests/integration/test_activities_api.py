"""Activities over HTTP and intake, against the real broker: meetings with
quorum, lecture series, deeds, cases, obligations and appraisals, and the
summary figures they feed."""
from tests.integration.test_bad_http_input import assert_problem
from tests.integration.test_membership_api import iso, register
from tests.support.system import eventually, intake_envelope


def summary(system, unit, start="2000-01-01"):
    from lianxin.clock import today
    return system.summary(unit, start, today().isoformat())


def test_a_member_registered_a_moment_ago_can_record_a_deed_at_once(running):
    register(running, "m1")
    deed = running.post("/deeds", {"id": "d1", "member_id": "m1", "done_on": iso(0), "category": "帮扶",
                                   "description": "帮独居老人买菜"})
    assert deed.status_code == 201, deed.text
    assert deed.json()["recorded_by"] == "m1" and deed.json()["org_unit_id"] == "ca"
    again = running.post("/deeds", {"id": "d1", "member_id": "m1", "done_on": iso(0), "category": "帮扶",
                                    "description": "帮独居老人买菜"})
    assert again.status_code == 200


def test_meetings_quorum_attendance_and_lectures(running):
    for m in ("m1", "m2", "m3"):
        register(running, m)
    register(running, "p1", stage="probationary")
    register(running, "x1", unit="cb")
    running.post("/activities", {"id": "mm", "kind": "members_meeting", "title": "第三季度党员大会",
                                 "org_unit_id": "ca", "scheduled_for": iso(5)})
    low = running.post("/activities/mm/record", {"held_on": iso(4), "attendee_ids": ["m1", "p1"]})
    assert "more than half" in assert_problem(low, 409, "attendee_ids")["detail"]
    stranger = running.post("/activities/mm/record", {"held_on": iso(4), "attendee_ids": ["m1", "m2", "x1"]})
    assert "x1" in assert_problem(stranger, 400, "attendee_ids")["errors"]["attendee_ids"][0]
    held = running.post("/activities/mm/record", {
        "held_on": iso(4), "attendee_ids": ["m1", "m2", "p1"],
        "absentees": [{"member_id": "m3", "reason": "外出务工"}], "minutes": "传达学习上级精神"})
    assert held.status_code == 200 and held.json()["expected"] == 3
    assert_problem(running.post("/activities/mm/record", {"held_on": iso(3), "attendee_ids": ["m1", "m2"]}), 409)

    for n in (1, 2):
        body = {"id": f"lec{n}", "kind": "lecture", "series": "小城论剑", "title": f"第{n}期",
                "org_unit_id": "wgz", "scheduled_for": iso(3)}
        assert running.post("/activities", body).json()["session_no"] == n
        running.post(f"/activities/lec{n}/record", {"held_on": iso(2), "attendee_ids": ["m1", "x1"], "speakers": [
            {"member_id": "m1", "name": "党员m1", "role": "zone_secretary"},
            {"name": f"部门负责人{n}", "role": "department_head"}]})
    figures = eventually(lambda: summary(running, "wgz").get("lecture_series") or None, message="lectures")
    assert figures == [{"series": "小城论剑", "sessions": 2, "speakers": 3, "secretaries": 1, "directors": 0,
                        "speakers_by_role": {"department_head": 2, "zone_secretary": 1}}]
    assert summary(running, "wgz")["activities"]["by_kind"]["members_meeting"] == 1
    assert summary(running, "zb")["activities"]["by_kind"]["members_meeting"] == 0


def test_deeds_weekly_counts_and_disputes(running):
    register(running, "m1")
    register(running, "m2")
    gone = register(running, "m3")
    running.post("/members/m3/status-changes", {"status": "transferred_out", "effective_on": iso(10),
                                                "reason": "迁往外地"})
    assert_problem(running.post("/deeds", {"member_id": "m3", "done_on": iso(5), "category": "帮扶",
                                           "description": "x"}), 409, "member_id")
    assert_problem(running.post("/deeds", {"member_id": "m1", "done_on": iso(-3), "category": "帮扶",
                                           "description": "x"}), 400, "done_on")
    assert gone["id"] == "m3"
    running.post("/deeds", {"id": "d1", "member_id": "m1", "done_on": iso(0), "category": "帮扶",
                            "description": "修水管", "recorded_by": "ca-secretary"})
    running.post("/deeds", {"id": "d2", "member_id": "m1", "done_on": iso(0), "category": "调解",
                            "description": "劝和邻里"})
    disputed = running.post("/deeds/d2/decision", {"decision": "disputed", "decided_on": iso(0), "note": "无人证明"})
    assert disputed.json()["status"] == "disputed"
    from lianxin.clock import today
    year, week, _ = today().isocalendar()
    weekly = running.get("/org-units/ca/deeds/weekly", week=f"{year}-W{week:02d}").json()
    assert weekly["members_without_deeds"] == ["m2"]
    assert {m["member_id"]: m["deeds"] for m in weekly["members"]} == {"m1": 1, "m2": 0}
    deeds = eventually(lambda: summary(running, "wgz").get("deeds", {}).get("total") == 1
                       and summary(running, "wgz")["deeds"], message="one deed counted")
    assert deeds["members_with_deeds"] == 1


def test_cases_from_open_to_resolved_and_counted(running):
    opened = running.post("/cases", {"id": "k1", "kind": "difficult_matter", "org_unit_id": "ca",
                                     "opened_on": iso(20), "summary": "道路硬化", "team": "party_member",
                                     "campaign": "小城冲锋号"})
    assert opened.status_code == 201
    assert running.post("/cases/k1/start", {"started_on": iso(15), "owner": "唐家庄党委"}).json()["status"] \
        == "in_progress"
    assert_problem(running.post("/cases/k1/resolution", {"resolved_on": iso(16), "outcome": "x"}), 400,
                   "resolved_on")
    assert running.post("/cases/k1/resolution", {"resolved_on": iso(1), "outcome": "道路已硬化"}).status_code == 200
    assert_problem(running.post("/cases/k1/close", {"closed_on": iso(0), "reason": "x"}), 409)
    running.post("/cases", {"id": "k2", "kind": "dispute", "org_unit_id": "cb", "opened_on": iso(3),
                            "summary": "宅基地纠纷", "campaign": "法律门诊"})
    running.post("/cases/k2/resolution", {"resolved_on": iso(2), "outcome": "调解成功"})
    cases = eventually(lambda: summary(running, "wgz").get("cases", {}).get("disputes_mediated") == 1
                       and summary(running, "wgz")["cases"], message="cases counted")
    assert cases == {"difficult_matters_solved": 1, "disputes_mediated": 1}


def test_obligations_and_appraisals(running):
    for m in ("m1", "m2", "m3", "m4"):
        register(running, m)
    register(running, "p1", stage="probationary")
    compliance = running.get("/obligations", org_unit_id="ca", **{"from": "2018-01-01", "to": "2018-03-31"}).json()
    kinds = {row["kind"] for row in compliance["obligations"]}
    assert {"theme_day", "members_meeting", "committee_meeting", "party_lesson"} <= kinds
    assert compliance["missed"] == compliance["due"] > 0
    assert running.post("/obligations", {"kind": "group_meeting", "frequency": None,
                                         "org_unit_id": "ca"}).status_code == 200
    again = running.get("/obligations", org_unit_id="ca", **{"from": "2018-01-01", "to": "2018-03-31"}).json()
    assert "group_meeting" not in {row["kind"] for row in again["obligations"]}

    year = int(iso(0)[:4])
    assert running.post("/appraisals", {"member_id": "m1", "year": year, "grade": "excellent"}).status_code == 201
    assert_problem(running.post("/appraisals", {"member_id": "m2", "year": year, "grade": "excellent"}), 409, "grade")
    assert_problem(running.post("/appraisals", {"member_id": "m1", "year": year, "grade": "qualified"}), 409,
                   "member_id")
    assert_problem(running.post("/appraisals", {"member_id": "p1", "year": year, "grade": "qualified"}), 409,
                   "member_id")
    sheet = running.get("/org-units/ca/appraisals", year=year).json()
    assert sheet["grades"] == {"m1": "excellent"}


def test_intake_applies_once_retries_unknown_members_and_rejects_bad_ones(running, vhost):
    register(running, "m1")
    deed = intake_envelope("deed_recorded", {"member_id": "m1", "done_on": iso(1), "category": "帮扶",
                                             "description": "送医"}, org_unit_id="ca")
    held = intake_envelope("activity_held", {"kind": "theme_day", "title": "主题党日", "org_unit_id": "ca",
                                             "held_on": iso(1), "attendee_ids": ["m1"]}, org_unit_id="ca")
    future = intake_envelope("deed_recorded", {"member_id": "m1", "done_on": iso(-5), "category": "帮扶",
                                               "description": "未来"}, org_unit_id="ca")
    running.publish_intake([deed, deed, held, held, future])
    eventually(lambda: running.get(f"/deeds/{deed['event_id']}").status_code == 200, message="deed via intake")
    eventually(lambda: running.get(f"/activities/{held['event_id']}").json().get("status") == "held",
               message="activity via intake")
    rejection = eventually(lambda: [r for r in running.get("/rejections").json()["rejections"]
                                    if r["event_id"] == future["event_id"]], message="future deed rejected")[0]
    assert rejection["errors"] == {"done_on": ["is in the future"]}
    store = running.store("activities")
    assert store.db["deeds"].count_documents({}) == 1 and store.db["activities"].count_documents({}) == 1

    late = intake_envelope("deed_recorded", {"member_id": "late", "done_on": iso(1), "category": "帮扶",
                                             "description": "先到的小事"}, org_unit_id="ca")
    running.publish_intake([late])
    # In some retry tier (one look at all of them: each look takes rabbitmqctl a
    # second or two, longer than the first tiers hold a message).
    eventually(lambda: sum(n for queue, n in vhost.queue_depths().items()
                           if queue.startswith("activities.intake.retry.")) >= 1, message="retrying")
    register(running, "late")
    eventually(lambda: running.get(f"/deeds/{late['event_id']}").status_code == 200, timeout=30,
               message="applied once the member is known")
