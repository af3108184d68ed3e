"""A member registered over HTTP appears in the summary report."""
from tests.support.system import eventually


def seed_tree(system):
    assert system.post("/org-units", {"id": "wgz", "name": "王哥庄街道", "level": "street"}).status_code == 201
    assert system.post("/org-units", {"id": "z1", "name": "第一管区", "level": "zone",
                                      "parent_id": "wgz"}).status_code == 201
    assert system.post("/org-units", {"id": "c1", "name": "唐家庄社区", "level": "community",
                                      "parent_id": "z1"}).status_code == 201


MEMBER = {"id": "m1", "name": "张三", "gender": "male", "birth_date": "1970-01-02", "org_unit_id": "c1",
          "stage": "full", "admitted_on": "1995-07-01", "id_number": "11010519491231002X", "phone": "13812345678"}


def test_member_registered_over_http_appears_in_summary(system):
    system.start()
    seed_tree(system)
    response = system.post("/members", MEMBER)
    assert response.status_code == 201
    assert response.json()["id_number"] == "110***********002X"

    summary = eventually(lambda: system.summary("wgz", "2018-01-01", "2018-12-31").get("members", {}).get("total") == 1
                         and system.summary("wgz", "2018-01-01", "2018-12-31"), message="member in summary")
    assert summary["members"]["by_stage"]["full"] == 1
    # Counted in the subtree only, and from the admission date on.
    system.post("/org-units", {"id": "other", "name": "别的街道", "level": "street"})
    eventually(lambda: system.summary("other").get("members", {}).get("total") == 0, message="other street empty")
    assert system.summary("wgz", "1990-01-01", "1994-12-31")["members"]["total"] == 0


def test_the_same_client_id_creates_once(system):
    system.start()
    seed_tree(system)
    first = system.post("/members", MEMBER)
    again = system.post("/members", MEMBER)
    other = system.post("/members", {**MEMBER, "name": "李四"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json() == first.json()
    assert other.headers["Content-Type"] == "application/problem+json"
    eventually(lambda: system.summary("wgz").get("members", {}).get("total") == 1, message="one member")
    events = system.store("reporting").db["events"]
    assert events.count_documents({"event_type": "member_registered"}) == 1


def test_openapi_health_and_readiness(system):
    system.start()
    spec = system.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/members" in spec["paths"] and "/api/v1/reports/summary" in spec["paths"]
    assert "RegisterMember" in spec["components"]["schemas"]
    assert system.http("GET", "/healthz").status_code == 200
    ready = system.http("GET", "/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True


def test_freshness_tells_how_far_behind_the_reports_are(system):
    system.start()
    seed_tree(system)
    fresh = eventually(lambda: (lambda f: f if f["events_applied"] >= 3 else None)(
        system.get("/reports/freshness").json()), message="three events applied")
    assert fresh["last_applied_at"] and fresh["last_event_occurred_at"]
    assert fresh["reporting_backlog"] == 0 and fresh["backlog"]["membership.intake.dead"] == 0
    system.stop("reporting")
    system.post("/org-units", {"id": "z9", "name": "第九管区", "level": "zone", "parent_id": "wgz"})
    system.start("reporting")
    eventually(lambda: system.get("/reports/freshness").json()["events_applied"] >= 4, message="caught up")


def test_the_summary_as_csv_xlsx_and_narrative_agree(system):
    import csv
    import io

    import openpyxl

    system.start()
    seed_tree(system)
    system.post("/members", MEMBER)
    eventually(lambda: system.summary("wgz").get("members", {}).get("total") == 1, message="member counted")
    params = {"org_unit_id": "wgz", "from": "2018-01-01", "to": "2018-12-31"}
    summary = system.get("/reports/summary", **params).json()
    csv_response = system.get("/reports/summary.csv", **params)
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    by_key = {figure.split(" ")[0]: value for _, figure, value in rows[1:]}
    assert by_key["members.total"] == str(summary["members"]["total"]) == "1"
    xlsx = system.get("/reports/summary.xlsx", **params)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    cells = {row[1].split(" ")[0]: row[2] for row in sheet.iter_rows(min_row=3, values_only=True) if row[1]}
    assert cells["members.total"] == 1
    text = system.get("/reports/narrative", **params).text
    assert "王哥庄街道" in text and "1名" in text
    assert_problem_400 = system.get("/reports/summary.csv", org_unit_id="wgz", **{"from": "2018-12-31",
                                                                                  "to": "2018-01-01"})
    assert assert_problem_400.status_code == 400
