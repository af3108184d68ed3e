"""Membership over HTTP and intake, against the real broker: the rules hold on
both paths, refusals name the rule and leave nothing behind, and the summary
counts members by stage and household links for any subtree."""
from datetime import timedelta


from lianxin.clock import today
from tests.integration.test_bad_http_input import assert_problem
from tests.support.system import eventually, intake_envelope

TODAY = today()


def iso(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def register(system, member_id, unit="ca", stage="full", **extra):
    body = {"id": member_id, "name": f"党员{member_id}", "gender": "male", "birth_date": "1970-03-03",
            "org_unit_id": unit, "branch_id": f"p-{unit}", "stage": stage, **extra}
    if stage in ("full", "probationary") and "admitted_on" not in extra:
        body["admitted_on"] = "2000-07-01" if stage == "full" else iso(100)
    response = system.post("/members", body)
    assert response.status_code == 201, response.text
    return response.json()


def summary(system, unit):
    return system.summary(unit, "2000-01-01", TODAY.isoformat())


def test_the_pipeline_over_http_and_the_summary_by_stage(running):
    register(running, "a1", stage="activist", stage_since=iso(400))
    skipped = running.post("/members/a1/stage-changes", {"stage": "probationary", "effective_on": iso(10)})
    assert_problem(skipped, 409, "stage")
    too_soon = running.post("/members/a1/stage-changes", {"stage": "candidate", "effective_on": iso(399)})
    assert "at least 1 year" in assert_problem(too_soon, 400, "effective_on")["errors"]["effective_on"][0]
    assert running.post("/members/a1/stage-changes", {"stage": "candidate", "effective_on": iso(30)}).status_code == 200
    made = running.post("/members/a1/stage-changes", {"stage": "probationary", "effective_on": iso(20)})
    assert made.status_code == 200 and made.json()["admitted_on"] == iso(20)
    early = running.post("/members/a1/stage-changes", {"stage": "full", "effective_on": iso(0)})
    assert_problem(early, 400, "effective_on")
    ext = running.post("/members/a1/probation-extensions", {"months": 6, "decided_on": iso(5)})
    assert ext.status_code == 200 and ext.json()["probation_extended"] is True
    again = running.post("/members/a1/probation-extensions", {"months": 6, "decided_on": iso(4)})
    assert_problem(again, 409, "months")
    register(running, "f1")
    register(running, "f2", unit="cb")
    totals = eventually(lambda: summary(running, "wgz").get("members", {}).get("total") == 3
                        and summary(running, "wgz")["members"], message="three members")
    assert totals["by_stage"]["probationary"] == 1 and totals["by_stage"]["full"] == 2
    assert totals["party_members"] == 3
    assert summary(running, "za")["members"]["total"] == 2


def test_leaving_and_transfers(running):
    register(running, "m1")
    register(running, "m2")
    gone = running.post("/members/m1/status-changes", {"status": "deceased", "effective_on": iso(3),
                                                        "reason": "病故"})
    assert gone.status_code == 200 and gone.json()["status"] == "deceased"
    assert_problem(running.post("/members/m1/stage-changes", {"stage": "full", "effective_on": iso(1)}), 409)
    assert running.get("/members/m1").status_code == 200  # never deleted

    letter = running.post("/members/m2/transfers", {"id": "t1", "to_org_unit_id": "cb", "to_branch_id": "p-cb",
                                                     "issued_on": iso(2)})
    assert letter.status_code == 201
    assert letter.json()["transfer"]["valid_until"] == (TODAY - timedelta(days=2) + timedelta(days=90)).isoformat()
    assert running.post("/members/m2/transfers", {"id": "t1", "to_org_unit_id": "cb", "to_branch_id": "p-cb",
                                                   "issued_on": iso(2)}).status_code == 200
    assert_problem(running.post("/members/m2/transfers", {"to_org_unit_id": "cb", "issued_on": iso(1)}), 409,
                   "member_id")
    received = running.post("/transfers/t1/receipt", {"received_on": iso(1)})
    assert received.status_code == 200 and received.json()["transfer"]["state"] == "received"
    member = running.get("/members/m2").json()
    assert (member["org_unit_id"], member["branch_id"]) == ("cb", "p-cb")

    eventually(lambda: summary(running, "zb").get("members", {}).get("total") == 1, message="m2 in zb")
    assert summary(running, "za")["members"]["total"] == 0  # m1 deceased, m2 gone to zb
    old = running.summary("za", "2000-01-01", iso(5))
    assert old["members"]["total"] == 2


def test_household_links_and_the_chart(running):
    register(running, "m1")
    register(running, "m2")
    first = running.post("/household-links", {"id": "l1", "member_id": "m1", "household_id": "h1",
                                              "address": "唐家庄村1号", "linked_on": iso(30)})
    assert first.status_code == 201
    taken = running.post("/household-links", {"member_id": "m2", "household_id": "h1"})
    assert_problem(taken, 409, "household_id")
    assert running.post("/household-links", {"id": "l2", "member_id": "m1", "household_id": "h2"}).status_code == 201
    assert running.post("/household-links/l1/end", {"unlinked_on": iso(10), "reason": "搬迁"}).status_code == 200
    assert running.post("/household-links", {"id": "l3", "member_id": "m2", "household_id": "h1",
                                              "linked_on": iso(9)}).status_code == 201
    chart = running.get("/org-units/wgz/household-links").json()
    by_member = {m["member_id"]: [h["household_id"] for h in m["households"]] for m in chart["members"]}
    assert by_member == {"m1": ["h2"], "m2": ["h1"]}
    assert chart["totals"] == {"members": 2, "linked_households": 2, "members_with_households": 2}
    eventually(lambda: summary(running, "wgz").get("household_links") == 2, message="two links now")
    assert running.summary("wgz", "2000-01-01", iso(20))["household_links"] == 1


def test_tree_changes_keep_history_and_a_unit_with_members_stays(running):
    register(running, "m1")
    moved = running.post("/org-units/ca/move", {"parent_id": "zb", "moved_on": iso(1)})
    assert moved.status_code == 200 and moved.json()["path"] == ["wgz", "zb", "ca"]
    assert_problem(running.post("/org-units/za/move", {"parent_id": "ca", "moved_on": iso(1)}), 400, "parent_id")
    renamed = running.post("/org-units/ca/rename", {"name": "唐家庄新社区", "renamed_on": iso(0)})
    assert [h["change"] for h in renamed.json()["history"]] == ["moved", "renamed"]
    assert_problem(running.http("DELETE", "/api/v1/org-units/ca"), 409, "org_unit_id")
    assert running.http("DELETE", "/api/v1/org-units/za").status_code == 204
    assert running.get("/org-units/za").status_code == 404
    eventually(lambda: summary(running, "zb").get("members", {}).get("total") == 1, message="ca now under zb")


def test_refusals_store_and_publish_nothing(running):
    store = running.store("membership")
    before = store.db["members"].count_documents({})
    assert_problem(running.post("/members", {"name": "x", "gender": "male", "birth_date": "1970-01-01",
                                             "org_unit_id": "ca", "stage": "full", "admitted_on": "2000-01-01",
                                             "id_number": "110105194912310021"}), 400, "id_number")
    assert_problem(running.post("/members", {"name": "x", "gender": "male", "birth_date": "1970-01-01",
                                             "org_unit_id": "nowhere", "stage": "applicant"}), 404, "org_unit_id")
    assert_problem(running.post("/household-links", {"member_id": "nobody", "household_id": "h9"}), 404,
                   "member_id")
    assert store.db["members"].count_documents({}) == before
    assert store.db["households"].count_documents({}) == 0
    assert [env for _, _, env, _ in store.db.pending_events() if env["event_type"] != "party_org_created"
            and env["event_type"] != "org_unit_created"] == []


def test_intake_applies_once_and_rejects_with_the_rule(running):
    register(running, "c1", stage="candidate", stage_since=iso(200))
    change = intake_envelope("member_stage_changed", {"member_id": "c1", "stage": "probationary",
                                                      "effective_on": iso(3)}, org_unit_id="ca")
    skip = intake_envelope("member_stage_changed", {"member_id": "c1", "stage": "applicant",
                                                    "effective_on": iso(2)}, org_unit_id="ca")
    link = intake_envelope("household_linked", {"member_id": "c1", "household_id": "h7"}, org_unit_id="ca")
    running.publish_intake([change, change, link, link])
    eventually(lambda: running.get("/members/c1").json()["stage"] == "probationary", message="stage via intake")
    running.publish_intake([skip])
    rejection = eventually(lambda: [r for r in running.get("/rejections").json()["rejections"]
                                    if r["event_id"] == skip["event_id"]], message="skip rejected")[0]
    assert "no stage is skipped" in rejection["reason"] and "stage" in rejection["errors"]
    member = running.get("/members/c1").json()
    assert [s["stage"] for s in member["stage_history"]] == ["candidate", "probationary"]
    eventually(lambda: summary(running, "ca").get("household_links") == 1, message="one link via intake")
