"""What `make run` does, end to end: every service in its own process (as
deployed), the Wanggezhuang demo seeded over HTTP, the summary counting it."""

import pytest
import requests

from lianxin.config import auth_headers
from scripts import demo, run
from tests.support.processes import deployed


@pytest.fixture
def running(tmp_path):
    with deployed(tmp_path) as (base, amqp_uri):
        yield base, amqp_uri


def test_the_demo_is_served_by_separate_service_processes(running):
    running, amqp_uri = running
    counts = demo.seed(running, progress=lambda line: None, amqp_uri=amqp_uri)
    assert counts["zones"] == 6 and counts["communities"] == 12 and counts["members"] > 150
    summary = run.wait_for_summary(running, counts["members"])
    assert summary["members"]["total"] == counts["members"]
    assert sum(summary["members"]["by_stage"].values()) == counts["members"]
    links = run.wait_for(lambda: _summary(running, "wgz")["household_links"] == counts["household_links"])
    assert links, f"household links never reached {counts['household_links']}"

    # The zones partition the street; a zone's subtree counts only its own.
    zone_totals = [_summary(running, zone)["members"]["total"] for zone in demo.ZONES]
    # No org unit named (?org_unit_id=): the top of the tree, 崂山区.
    top = _summary(running, "")
    assert top["org_unit_id"] == "laoshan" and top["members"]["total"] == counts["members"]
    assert sum(zone_totals) == counts["members"] and all(zone_totals)

    # A month of activity: June 2018's figures, counted in business time.
    june = run.wait_for(lambda: (lambda s: s if s["deeds"]["total"] == counts["june_deeds"] else None)(
        _summary(running, "wgz", "2018-06-01", "2018-06-30")))
    assert june, "June's deeds never all arrived"
    assert june["deeds"]["members_with_deeds"] == counts["june_members_with_deeds"]
    assert sum(june["activities"]["by_kind"].values()) == counts["june_activities"]
    assert {s["series"]: s["sessions"] for s in june["lecture_series"]} == {"小城论剑": 1, "乡村头雁自讲堂": 1}
    assert june["cases"] == {"difficult_matters_solved": counts["june_cases_solved"],
                             "disputes_mediated": counts["june_disputes_mediated"]}
    assert _summary(running, "wgz", "2018-07-01", "2018-07-31")["deeds"]["total"] == 0

    # Two inspection rounds over every community, findings in every state.
    year = run.wait_for(lambda: (lambda s: s if s["inspections"]["assessments"] == counts["assessments"] else None)(
        _summary(running, "wgz", "2018-01-01", "2018-12-31")))
    assert year, "the inspections never all arrived"
    states = counts["finding_states"]
    assert year["inspections"] == {
        "rounds": 2, "units_inspected": counts["units_inspected"], "assessments": counts["assessments"],
        "findings": counts["findings"], "rectified": states["verified"],
        "overdue": states["overdue"] + states["in_progress"] + states["submitted"] + states["reopened"]}

    # Honours: the 1 July commendations and the summit honour from the city (by intake).
    honours = run.wait_for(lambda: (lambda s: s if s["honours"]["collective"] == counts["honours_collective"]
                                    and len(s["honours"]["from_higher_bodies"]) == counts["honours_from_higher_bodies"]
                                    else None)(_summary(running, "wgz", "2018-01-01", "2018-12-31")))
    assert honours, "the honours never all arrived"
    assert honours["honours"]["individual"] == counts["honours_individual"]
    assert honours["honours"]["by_category"]["上合组织青岛峰会服务保障工作先进集体"] == 1
    assert honours["honours"]["from_higher_bodies"] == [
        {"title": "上合组织青岛峰会服务保障工作先进集体", "awarding_body": "青岛市委、市政府", "nominee_kind": "collective",
         "count": 1}]

    # Seeding again is a no-op: every write carries a client id.
    assert demo.seed(running, progress=lambda line: None, amqp_uri=amqp_uri) == counts
    assert run.wait_for_summary(running, counts["members"])["members"]["total"] == counts["members"]

    chart = requests.get(f"{running}/api/v1/org-units/wgz-z1-c1/household-links", timeout=10, headers=auth_headers()).json()
    assert chart["totals"]["linked_households"] > 0
    # An admin sees the ID number and phone (and the read is audited); an inspector sees them masked.
    member_url = f"{running}/api/v1/members/wgz-z1-c1-m001"
    member = requests.get(member_url, timeout=10, headers=auth_headers()).json()
    assert "*" not in member["id_number"] and len(member["id_number"]) == 18 and "*" not in member["phone"]
    inspector = requests.post(f"{running}/api/v1/api-keys", json={"name": "e2e", "role": "inspector"},
                              headers=auth_headers(), timeout=10).json()["token"]
    masked = requests.get(member_url, timeout=10, headers={"Authorization": f"Bearer {inspector}"}).json()
    assert "*" in masked["id_number"] and "*" in masked["phone"]
    audit = requests.get(f"{running}/api/v1/audit", params={"action": "unmasked_read"}, headers=auth_headers(),
                         timeout=10).json()["entries"]
    assert [e["path"] for e in audit] == ["/api/v1/members/wgz-z1-c1-m001"]


def _summary(base: str, unit: str, start: str = "1900-01-01", end: str = "2100-12-31") -> dict:
    return requests.get(f"{base}/api/v1/reports/summary", headers=auth_headers(),
                        params={"org_unit_id": unit, "from": start, "to": end}, timeout=10).json()
