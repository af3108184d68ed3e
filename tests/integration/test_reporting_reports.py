"""The table reports, "as of" queries and snapshots over HTTP, against the
real broker: what the services record reaches every report, the CSV and XLSX
say the same as the JSON, and a published snapshot goes out as
report_published and never changes (late events are noted in the next one)."""
import csv
import io
import json
import socket
import time

import kombu
from openpyxl import load_workbook

from tests.integration.test_bad_http_input import assert_problem
from tests.integration.test_membership_api import register
from tests.support.system import eventually

YEAR = {"from": "2018-01-01", "to": "2018-12-31"}


def deed(system, deed_id, member_id, done_on, category="帮扶"):
    response = system.post("/deeds", {"id": deed_id, "member_id": member_id, "done_on": done_on,
                                      "category": category, "description": "帮独居老人买菜"})
    assert response.status_code == 201, response.text


def report(system, name, **params):
    response = system.get(f"/reports/{name}", **{"org_unit_id": "wgz", **YEAR, **params})
    assert response.status_code == 200, response.text
    return response.json()


def seed(running):
    for m in ("m1", "m2"):
        register(running, m)
    register(running, "m3", unit="cb")
    deed(running, "d1", "m1", "2018-06-04")       # 2018-W23
    deed(running, "d2", "m1", "2018-06-06")
    deed(running, "d3", "m3", "2018-06-12")       # 2018-W24
    for n, (unit, day) in enumerate((("ca", "2018-06-08"), ("ca", "2018-07-06"), ("cb", "2018-06-20")), 1):
        body = {"id": f"td{n}", "kind": "theme_day", "title": "主题党日", "org_unit_id": unit,
                "scheduled_for": day}
        assert running.post("/activities", body).status_code == 201
        held = running.post(f"/activities/td{n}/record", {"held_on": day, "attendee_ids": ["m1", "m2"]
                                                          if unit == "ca" else ["m3"]})
        assert held.status_code == 200, held.text
    eventually(lambda: report(running, "deeds")["totals"]["deeds"] == 3
               and report(running, "compliance")["totals"]["held"] >= 3, message="deeds and activities reported")


def test_table_reports_json_csv_and_xlsx_agree(running):
    seed(running)
    weekly = report(running, "deeds", by="week", **{"from": "2018-06-04", "to": "2018-06-17"})
    cells = {(r["week"], r["org_unit_id"]): (r["deeds"], r["members"], r["members_without_deeds"])
             for r in weekly["rows"]}
    assert cells == {("2018-W23", "ca"): (2, 2, 1), ("2018-W23", "cb"): (0, 1, 1),
                     ("2018-W24", "ca"): (0, 2, 2), ("2018-W24", "cb"): (1, 1, 0)}
    # members with no deed this week, by member
    week = report(running, "deeds", by="member", week="2018-W23", **{"from": "", "to": ""})
    assert {r["member_id"]: r["deeds"] for r in week["rows"]} == {"m1": 2, "m2": 0, "m3": 0}
    assert (week["from"], week["to"]) == ("2018-06-04", "2018-06-10")

    compliance = report(running, "compliance", **{"from": "2018-06-01", "to": "2018-07-31"})
    theme = {(d["org_unit_id"], d["period"]): d["held"] for d in compliance["obligations"]
             if d["kind"] == "theme_day"}
    assert theme == {("ca", "2018-06"): 1, ("ca", "2018-07"): 1, ("cb", "2018-06"): 1, ("cb", "2018-07"): 0}
    july_cb = next(r for r in compliance["rows"] if (r["org_unit_id"], r["month"]) == ("cb", "2018-07"))
    assert july_cb["missed"] >= 1 and july_cb["held"] == 0

    # The same table as CSV and XLSX.
    csv_rows = list(csv.reader(io.StringIO(running.get("/reports/deeds.csv", org_unit_id="wgz", by="week",
                                                       **{"from": "2018-06-04", "to": "2018-06-17"})
                                           .content.decode("utf-8-sig"))))
    assert [c.split(" ")[0] for c in csv_rows[0]] == weekly["columns"]
    assert [[str(v) for v in (r[c] for c in weekly["columns"])] for r in weekly["rows"]] == csv_rows[1:]
    xlsx = running.get("/reports/deeds.xlsx", org_unit_id="wgz", by="week", **{"from": "2018-06-04", "to": "2018-06-17"})
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [list(r) for r in sheet.iter_rows(min_row=3, max_row=2 + len(weekly["rows"]), values_only=True)]
    assert values == [[r[c] for c in weekly["columns"]] for r in weekly["rows"]]

    # Bad queries name the field; unknown reports are 404.
    assert_problem(running.get("/reports/deeds", by="colour"), 400, "by")
    assert_problem(running.get("/reports/deeds", week="2018-23"), 400, "week")
    assert_problem(running.get("/reports/deeds", org_unit_id="nowhere", **YEAR), 404)
    assert running.get("/reports/nonsense").status_code == 404


def test_as_of_a_past_day_and_snapshots_with_corrections(running):
    seed(running)
    published = []
    with kombu.Connection(running.config["AMQP_URI"]) as conn:
        # A downstream system's own queue for the feed.
        queue = kombu.Queue("downstream.reports", kombu.Exchange("lianxin.events", "topic", passive=True),
                            routing_key="report_published", auto_delete=True)
        with conn.Consumer(queue, callbacks=[lambda body, message: (published.append(body), message.ack())],
                           accept=["json"]):
            first = running.post("/reports/snapshots", {"org_unit_id": "wgz", "period": "2018-06"})
            assert first.status_code == 201, first.text
            snap = first.json()
            assert (snap["_id"], snap["granularity"], snap["summary"]["deeds"]["total"]) == ("wgz:2018-06", "month", 3)
            again = running.post("/reports/snapshots", {"org_unit_id": "wgz", "period": "2018-06"})
            assert again.status_code == 200 and again.json() == snap

            # A late deed for June: the June snapshot stays as published ...
            deed(running, "d4", "m2", "2018-06-20")
            eventually(lambda: report(running, "deeds", **{"from": "2018-06-01", "to": "2018-06-30"})
                       ["totals"]["deeds"] == 4, message="late deed applied")
            listed = running.get("/reports/snapshots", org_unit_id="wgz", full="true").json()["snapshots"]
            assert listed == [snap]
            # ... and the next snapshot carries the correction.
            july = running.post("/reports/snapshots", {"org_unit_id": "wgz", "period": "2018-07"}).json()
            note = next(n for n in july["corrections"] if n["snapshot_id"] == "wgz:2018-06")
            assert note["changes"]["deeds.total"] == {"was": 3, "now": 4}
            assert note["changes"]["deeds.members_with_deeds"] == {"was": 2, "now": 3}

            deadline = time.monotonic() + 20
            while len(published) < 2 and time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=0.5)
                except socket.timeout:
                    pass
    events = [json.loads(b) if isinstance(b, (str, bytes)) else b for b in published]
    events.sort(key=lambda e: e["data"]["snapshot_id"])
    assert [e["data"]["snapshot_id"] for e in events] == ["wgz:2018-06", "wgz:2018-07"]
    assert events[0]["event_type"] == "report_published" and events[0]["data"]["summary"]["deeds"]["total"] == 3
    assert events[1]["data"]["corrections"] == july["corrections"]

    assert_problem(running.post("/reports/snapshots", {"period": "2999-01"}), 409, "period")
    assert_problem(running.post("/reports/snapshots", {"period": "2018-13"}), 400, "period")

    # "As of" today sees everything recorded; as of yesterday (before any of
    # it was recorded) the street itself was not known yet.
    from lianxin.clock import today
    assert report(running, "deeds", as_of=today().isoformat())["totals"]["deeds"] == 4
    assert report(running, "deeds", as_of=today().isoformat())["as_of"] == today().isoformat()
    assert_problem(running.get("/reports/summary", org_unit_id="wgz", as_of="2000-01-01", **YEAR), 404, "org_unit_id")
    assert_problem(running.get("/reports/summary", as_of="2999-01-01"), 400, "as_of")


def test_the_event_store_by_type_unit_and_time(running):
    seed(running)
    deeds = running.get("/events", event_type="deed_recorded").json()
    assert sorted(e["data"]["deed_id"] for e in deeds["events"]) == ["d1", "d2", "d3"]
    in_cb = running.get("/events", org_unit_id="zb", event_type=["deed_recorded", "activity_held"]).json()
    assert sorted((e["event_type"], e["org_unit_id"]) for e in in_cb["events"]) == [
        ("activity_held", "cb"), ("deed_recorded", "cb")]
    assert running.get("/events", org_unit_id="zb", subtree="false",
                       event_type="deed_recorded,activity_held").json()["events"] == []
    # Pages follow each other with no gap and no repeat.
    everything = running.get("/events", limit=1000).json()["events"]
    pages, after = [], None
    while True:
        page = running.get("/events", limit=4, **({"after": after} if after else {})).json()
        pages += page["events"]
        after = page["next_after"]
        if after is None:
            break
    assert [e["event_id"] for e in pages] == [e["event_id"] for e in everything]
    occurred = [e["occurred_at"] for e in everything]
    assert running.get("/events", since=occurred[-1]).json()["events"][-1]["event_id"] == everything[-1]["event_id"]
    assert running.get("/events", until="2000-01-01T00:00:00+08:00").json()["events"] == []
    assert_problem(running.get("/events", event_type="no_such_event"), 400, "event_type")
    assert_problem(running.get("/events", since="yesterday"), 400, "since")
