"""The dashboard, end to end: a small street seeded over the public HTTP API,
/dashboard opened in headless Chromium (Debian's `chromium`), and every chart
checked to hold the numbers of the JSON reports and of what was seeded.
A screenshot is left in test-output/dashboard/.

Chromium missing is a failure, not a skip: run scripts/ensure-chromium.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import running  # noqa: F401 - the street: wgz > za > ca, wgz > zb > cb
from tests.support.system import eventually

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "dashboard"
PERIOD = {"from": "2018-05-01", "to": "2018-07-31"}
DUE_AFTER_THE_PERIOD = "2018-08-31"      # open at the period's end, not overdue

# What is seeded, and so what the dashboard must show.
MEMBERS = {"m1": "ca", "m2": "ca", "m3": "ca", "m4": "cb", "m5": "cb"}
DEEDS = {  # ISO week -> community -> deeds (by member)
    "2018-W23": {"ca": ["m1", "m1", "m2"], "cb": ["m4"]},
    "2018-W24": {"ca": ["m1"], "cb": ["m4", "m5"]},
}
WEEK_START = {"2018-W23": date(2018, 6, 4), "2018-W24": date(2018, 6, 11)}
HOUSEHOLDS = {"m1": 3, "m2": 1, "m4": 2}          # current links; m2 had one more, ended
HELD = {  # 三会一课 held: community -> [(kind, day)]
    "ca": [("theme_day", "2018-05-05"), ("theme_day", "2018-06-02"), ("committee_meeting", "2018-06-09")],
    "cb": [("theme_day", "2018-06-03")],
}
ZONES = {  # findings by zone: open = not rectified by `to`, overdue = the open ones past due by then
    "za": {"findings": 3, "rectified": 1, "open": 2, "overdue": 1},
    "zb": {"findings": 2, "rectified": 0, "open": 2, "overdue": 1},
}
HONOURS = {"先进集体": 1, "优秀共产党员": 2}
COMPUTED = ("activities.total", "honours.from_higher_bodies")   # headline figures the page adds up


def ok(response):
    assert response.status_code in (200, 201), f"{response.request.method} {response.url}: {response.text}"
    return response.json()


def seed(system) -> None:
    post = lambda path, body: ok(system.post(path, body))  # noqa: E731
    for member_id, unit in MEMBERS.items():
        post("/members", {"id": member_id, "name": f"党员{member_id[1:]}", "gender": "male",
                          "birth_date": "1970-03-03", "org_unit_id": unit, "branch_id": f"p-{unit}",
                          "stage": "full", "admitted_on": "2000-07-01"})
    post("/members", {"id": "a1", "name": "积极分子甲", "gender": "female", "birth_date": "1995-05-05",
                      "org_unit_id": "cb", "branch_id": "p-cb", "stage": "activist", "stage_since": "2017-03-01"})
    for member_id, count in HOUSEHOLDS.items():
        for n in range(count):
            post("/household-links", {"id": f"l-{member_id}-{n}", "member_id": member_id,
                                      "household_id": f"h-{member_id}-{n}", "address": f"{member_id} {n + 1}号",
                                      "linked_on": "2018-01-15"})
    post("/household-links", {"id": "l-m2-old", "member_id": "m2", "household_id": "h-m2-old",
                              "address": "老宅 9号", "linked_on": "2018-01-15"})
    post("/household-links/l-m2-old/end", {"unlinked_on": "2018-03-01", "reason": "住户迁出"})

    for week, by_community in DEEDS.items():
        for community, doers in by_community.items():
            for n, member_id in enumerate(doers):
                post("/deeds", {"id": f"d-{week}-{community}-{n}", "member_id": member_id,
                                "done_on": (WEEK_START[week] + timedelta(days=n)).isoformat(),
                                "category": "帮扶困难户", "description": "为联系户办了一件小事"})

    for community, held in HELD.items():
        attendees = [m for m, unit in MEMBERS.items() if unit == community]
        for n, (kind, day) in enumerate(held):
            activity_id = f"act-{community}-{n}"
            post("/activities", {"id": activity_id, "kind": kind, "title": kind, "org_unit_id": community,
                                 "scheduled_for": day})
            post(f"/activities/{activity_id}/record", {"held_on": day, "attendee_ids": attendees})
    post("/cases", {"id": "k1", "kind": "difficult_matter", "org_unit_id": "ca", "opened_on": "2018-06-04",
                    "summary": "道路硬化", "team": "party_member", "campaign": "小城冲锋号"})
    post("/cases/k1/resolution", {"resolved_on": "2018-06-20", "outcome": "道路已硬化"})

    # 党建巡诊: a round over the street, findings taken to different states.
    eventually(lambda: system.post("/inspection-rounds", {
        "id": "r1", "name": "2018年第一轮党建巡诊", "scope_org_unit_ids": ["wgz"],
        "checklist": [{"item": "三会一课", "max_score": 30}, {"item": "主题党日", "max_score": 20}],
        "starts_on": "2018-06-01", "ends_on": "2018-07-31", "inspectors": ["insp-wang"]}).status_code == 201,
        message="round opened")
    eventually(lambda: system.get("/inspection-rounds/r1").json().get("unit_ids") == ["ca", "cb"],
               message="the round's communities")
    finding = lambda fid, item: {"id": fid, "item": item, "severity": "medium", "description": f"问题{fid}"}  # noqa: E731
    post("/inspection-rounds/r1/assessments", {
        "id": "as-ca", "org_unit_id": "ca", "inspected_on": "2018-06-12", "inspector": "insp-wang",
        "scores": {"三会一课": 25, "主题党日": 18},
        "findings": [finding("f1", "三会一课"), finding("f2", "主题党日"), finding("f3", "三会一课")]})
    post("/inspection-rounds/r1/assessments", {
        "id": "as-cb", "org_unit_id": "cb", "inspected_on": "2018-06-13", "inspector": "insp-wang",
        "scores": {"三会一课": 28, "主题党日": 15}, "findings": [finding("f4", "三会一课"), finding("f5", "主题党日")]})
    # f1: rectified and verified; f2: planned, due after the period (open); f3: planned, overdue;
    # f4: evidence submitted but never verified, past due (overdue); f5: no plan yet (open).
    post("/findings/f1/rectification", {"owner": "唐家庄党支部", "due_on": "2018-06-30", "plan": "补齐记录"})
    post("/findings/f1/progress", {"started_on": "2018-06-14"})
    post("/findings/f1/submission", {"submitted_on": "2018-06-20", "evidence": "记录簿照片"})
    post("/findings/f1/verification", {"verified_on": "2018-06-25", "passed": True, "inspector": "insp-wang"})
    post("/findings/f2/rectification", {"owner": "唐家庄党支部", "due_on": DUE_AFTER_THE_PERIOD, "plan": "每月开展"})
    post("/findings/f3/rectification", {"owner": "唐家庄党支部", "due_on": "2018-06-30", "plan": "补齐党课"})
    post("/findings/f4/rectification", {"owner": "港东党支部", "due_on": "2018-06-30", "plan": "补齐记录"})
    post("/findings/f4/progress", {"started_on": "2018-06-15"})
    post("/findings/f4/submission", {"submitted_on": "2018-06-28", "evidence": "补充记录"})

    # Honours: the 1 July commendations.
    post("/honour-categories", {"id": "xjjt", "name": "先进集体", "nominee_kind": "collective",
                                "awarding_body": "王哥庄街道党工委", "exclude_overdue_rectification": False})
    post("/honour-categories", {"id": "yxdy", "name": "优秀共产党员", "nominee_kind": "individual",
                                "awarding_body": "王哥庄街道党工委"})
    for nomination, category, nominee in (("n1", "xjjt", "ca"), ("n2", "yxdy", "m1"), ("n3", "yxdy", "m4")):
        post("/nominations", {"id": nomination, "category_id": category, "nominee_id": nominee, "year": 2018,
                              "nominated_on": "2018-06-15"})
        for decision, day in (("approve", "2018-06-18"), ("publicize", "2018-06-19"), ("award", "2018-06-29")):
            post(f"/nominations/{nomination}/decisions", {"decision": decision, "decided_on": day})


def expected_headline() -> dict:
    return {"members.party_members": len(MEMBERS), "members.total": len(MEMBERS) + 1,
            "household_links": sum(HOUSEHOLDS.values()),
            "deeds.total": sum(len(d) for w in DEEDS.values() for d in w.values()),
            "deeds.members_with_deeds": len({m for w in DEEDS.values() for d in w.values() for m in d}),
            "activities.total": sum(len(h) for h in HELD.values()), "inspections.units_inspected": 2,
            "inspections.findings": 5, "inspections.rectified": 1, "inspections.overdue": 2,
            "honours.collective": 1, "honours.individual": 2, "honours.from_higher_bodies": 0,
            "cases.difficult_matters_solved": 1, "cases.disputes_mediated": 0}


def dig(obj, dotted):
    for key in dotted.split("."):
        obj = obj[key]
    return obj


@pytest.fixture
def browser() -> str:
    """Debian's chromium; missing, the test fails at once (before the system starts)."""
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not on PATH: run scripts/ensure-chromium (make e2e and make test do)")
    return binary


def chromium(binary: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--lang=zh-CN", "--virtual-time-budget=15000"]
    return subprocess.run([binary, *flags, *args], capture_output=True, timeout=timeout, text=True)


def test_the_dashboard_draws_the_reports(browser, running, tmp_path):  # noqa: F811 - the fixture imported above
    system = running
    seed(system)
    wanted = expected_headline()

    def settled():
        summary = system.get("/reports/summary", org_unit_id="wgz", **PERIOD).json()
        fresh = system.get("/reports/freshness").json()
        caught_up = fresh.get("events_applied", 0) > 0 and fresh.get("waiting_total") == 0
        drawn = all(dig(summary, k) == v for k, v in wanted.items() if k not in COMPUTED)
        return summary if caught_up and drawn else None
    summary = eventually(settled, timeout=60, interval=0.5, message="the reports caught up with the seed")
    assert summary["honours"]["by_category"] == HONOURS

    query = {"org_unit_id": "wgz", **PERIOD}
    reports = {name: ok(system.get(f"/reports/{name}", **query, **({"by": "week"} if name == "deeds" else {})))
               for name in ("deeds", "compliance", "inspections")}
    chart = ok(system.get("/org-units/ca/household-links"))

    # The page asks the API with the key given in its address (#token=): an
    # inspector's, which reads everything and sees no personal data.
    api_key = system.post("/api-keys", {"name": "dashboard", "role": "inspector"}).json()["token"]
    page = f"{system.url}/dashboard?org_unit_id=wgz&from={PERIOD['from']}&to={PERIOD['to']}&community=ca#token={api_key}"
    dumped = chromium(browser, f"--user-data-dir={tmp_path / 'profile-dom'}", "--dump-dom", page)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "dashboard.html").write_text(dumped.stdout, encoding="utf-8")
    body = re.search(r"<body([^>]*)>", dumped.stdout)
    assert body, f"no page dumped; chromium said: {dumped.stderr[-2000:]}"
    attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1)))
    assert "data-error" not in attributes, html.unescape(attributes["data-error"])
    assert attributes.get("data-ready") == "1", f"the page never finished drawing: {attributes}"
    rendered = json.loads(re.search(r'<script type="application/json" id="rendered">(.*?)</script>', dumped.stdout,
                                    re.S).group(1))

    # Headline figures: the summary's, and what was seeded.
    assert rendered["headline"] == {**{k: dig(summary, k) for k in wanted if k not in COMPUTED},
                                    "activities.total": sum(summary["activities"]["by_kind"].values()),
                                    "honours.from_higher_bodies": len(summary["honours"]["from_higher_bodies"])}
    assert rendered["headline"] == wanted

    # Deeds per week per community: the report's rows, and the seed (nothing in other weeks).
    drawn = rendered["deeds_by_week"]
    by_cell = {(w, c): d for c, s in drawn["series"].items() for w, d in zip(drawn["weeks"], s["data"])}
    from_report: dict = {}
    for row in reports["deeds"]["rows"]:
        key = (row["week"], row["org_unit_id"])
        from_report[key] = from_report.get(key, 0) + row["deeds"]
    assert {k: v for k, v in by_cell.items() if v} == {k: v for k, v in from_report.items() if v}
    assert all(by_cell.get(k, 0) == v for k, v in from_report.items())
    seeded = {(w, c): len(doers) for w, by_c in DEEDS.items() for c, doers in by_c.items()}
    assert {k: v for k, v in by_cell.items() if v} == seeded
    assert {s["name"] for s in drawn["series"].values()} == {"唐家庄社区", "港东社区"}

    # 三会一课: one cell per branch and month, as the report has it; held as seeded.
    cells = {(month, unit): (rate, held, due) for month, unit, rate, held, due in rendered["compliance"]["cells"]}
    assert len(cells) == len(rendered["compliance"]["cells"]) == len(reports["compliance"]["rows"])
    for row in reports["compliance"]["rows"]:
        rate = None if row["rate"] is None else round(row["rate"] * 1000) / 10
        assert cells[(row["month"], row["org_unit_id"])] == (rate, row["held"], row["due"]), row
    assert {u for _, u in cells} == {"ca", "cb"}
    assert {m for m, _ in cells} == {"2018-05", "2018-06", "2018-07"}
    held = {(m, u): h for (m, u), (_, h, _) in cells.items()}
    assert held == {("2018-05", "ca"): 1, ("2018-06", "ca"): 2, ("2018-07", "ca"): 0,
                    ("2018-05", "cb"): 0, ("2018-06", "cb"): 1, ("2018-07", "cb"): 0}
    assert all(due > 0 for _, _, due in cells.values())

    # Rectification by zone: the report's zones, and the states the findings were taken to.
    zones = rendered["rectification_by_zone"]
    drawn_zones = {z: {k: zones["series"][k][i] for k in ("findings", "rectified", "open", "overdue")}
                   for i, z in enumerate(zones["zones"])}
    assert drawn_zones == {z["zone_id"]: {k: z[k] for k in ("findings", "rectified", "open", "overdue")}
                           for z in reports["inspections"]["zones"]}
    assert drawn_zones == ZONES
    # The bars: rectified, open but not yet due, overdue (they add up to the findings).
    assert zones["series"]["pending"] == [ZONES[z]["open"] - ZONES[z]["overdue"] for z in zones["zones"]]
    assert zones["names"] == [z["zone_name"] for z in reports["inspections"]["zones"]]

    # Honours by category.
    assert rendered["honours_by_category"] == summary["honours"]["by_category"] == HONOURS

    # The household-link chart of 唐家庄社区: members, their households, the unlinked one.
    links = rendered["household_links"]
    linked = sum(len(m["households"]) for m in chart["members"])
    assert links == {"org_unit_id": "ca", "members": len(chart["members"]), "households": linked,
                     "unlinked_households": len(chart["unlinked_households"]),
                     "nodes": len(chart["members"]) + linked + len(chart["unlinked_households"]), "links": linked}
    assert links == {"org_unit_id": "ca", "members": 3, "households": 4, "unlinked_households": 1,
                     "nodes": 8, "links": 4}

    # And a picture of it, for people.
    shot = OUTPUT / "dashboard.png"
    shot.unlink(missing_ok=True)
    taken = chromium(browser, f"--user-data-dir={tmp_path / 'profile-shot'}", "--hide-scrollbars",
                     "--window-size=1400,2200", f"--screenshot={shot}", page)
    assert shot.exists() and shot.stat().st_size > 20_000, f"no screenshot; chromium said: {taken.stderr[-2000:]}"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # A failed fetch is said on the page (and in data-error), not drawn as empty charts.
    broken = chromium(browser, f"--user-data-dir={tmp_path / 'profile-error'}", "--dump-dom",
                      f"{system.url}/dashboard?org_unit_id=no-such-unit&from=2018-01-01&to=2018-12-31#token={api_key}")
    body = re.search(r"<body([^>]*)>", broken.stdout).group(1)
    assert 'data-done="1"' in body and "data-ready" not in body and "404" in body
    errors = re.search(r'<div id="errors"([^>]*)>(.*?)</div>\s*<section', broken.stdout, re.S)
    assert errors and "hidden" not in errors.group(1) and "no-such-unit" in errors.group(2)

    # Without a key the page says so (401), and draws nothing.
    keyless = chromium(browser, f"--user-data-dir={tmp_path / 'profile-keyless'}", "--dump-dom",
                       f"{system.url}/dashboard?org_unit_id=wgz&from=2018-01-01&to=2018-12-31")
    body = re.search(r"<body([^>]*)>", keyless.stdout).group(1)
    assert "data-ready" not in body and "401" in body and "#token=" in keyless.stdout
