"""Reports and their exports never hold personal data.

Members are registered through membership with ID numbers and phones (over
HTTP and over intake); the events membership publishes for them (and the
activities and honours events about them) are fed to reporting as it
receives them, off the wire. Nothing reporting stores or answers with (the
summary, its CSV, XLSX and narrative, every table report as JSON, CSV and
XLSX, the event log, a published snapshot and its report_published event)
holds an ID number or a phone: reporting never receives them.
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook

from lianxin.catalog import CATALOG
from lianxin.envelope import encode
from lianxin.store import ServiceDb
from services.membership import handlers as membership
from services.reporting import handlers, reports
from services.reporting.exports import summary_csv, summary_xlsx, table_csv, table_xlsx
from services.reporting.narrative import narrative
from services.reporting.store import ReportingStore
from tests.support.fakes import NotifyRecorder, fresh_database, membership_store
from tests.unit.test_events_carry_no_personal_data import (ID_NUMBER, OTHER_ID_NUMBER, OTHER_PHONE, PHONE, command,
                                                           intake)
from tests.unit.test_reporting_reports import awarded, deed, held, resolved, rule

TODAY = date(2018, 12, 31)
YEAR = (date(2018, 1, 1), date(2018, 12, 31))
SECRETS = (ID_NUMBER, OTHER_ID_NUMBER, PHONE, OTHER_PHONE,
           ID_NUMBER[:17], OTHER_ID_NUMBER[:17], PHONE[3:], OTHER_PHONE[3:])


def membership_events() -> list:
    """What membership publishes for two members registered with personal data."""
    published = NotifyRecorder()
    store = membership_store(published)
    membership.create_org_unit(store, {"id": "wgz", "name": "王哥庄街道", "level": "street", "parent_id": None})
    membership.create_org_unit(store, {"id": "wgz-c1", "name": "港东社区", "level": "community", "parent_id": "wgz"})
    membership.register_member(store, command(), TODAY)
    membership.intake(store, [intake(command(id="m2", name="李四", id_number=OTHER_ID_NUMBER, phone=OTHER_PHONE))],
                      TODAY)
    membership.link_household(store, {"id": "l1", "member_id": "m1", "household_id": "h1", "address": "港东社区1号",
                                      "linked_on": date(2018, 3, 1)}, TODAY)
    # membership holds them (sealed), and answers them to those allowed
    assert membership.get_member(store, "m2", unmasked=True)["body"]["phone"] == OTHER_PHONE
    return [e for _, _, events in published.calls for e in events]


@pytest.fixture(scope="module")
def reporting():
    received = [CATALOG.validate(encode(e)) for e in membership_events()] + [
        rule("theme_day", "monthly"),
        held("a1", "theme_day", "wgz-c1", "2018-06-08"),
        deed("d1", "m1", "wgz-c1", "2018-06-05", points=2, household="h1"),
        deed("d2", "m2", "wgz-c1", "2018-06-12"),
        resolved("k1", "dispute", "wgz-c1", "2018-06-20"),
        awarded("hn1", "individual", "m1", "wgz-c1", "2018-07-01", "先进个人"),
    ]
    published = NotifyRecorder()
    store = ReportingStore(ServiceDb(fresh_database(), ReportingStore.OUTBOX_COLLECTIONS, notify=published))
    assert {r.outcome for r in handlers.apply_events(store, received)} == {"ok"}
    return store, published


def xlsx_text(data: bytes) -> str:
    """Every cell value of every sheet, and every part of the file as text."""
    workbook = load_workbook(io.BytesIO(data))
    cells = [str(cell.value) for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row
             if cell.value is not None]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    return "\n".join(cells + parts)


def csv_text(data: bytes) -> str:
    return "\n".join(",".join(row) for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def assert_no_personal_data(name: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{name} holds {secret}"
    assert "id_number" not in text and "phone" not in text, name


def every_report(store) -> dict:
    query = {"org_unit_id": "wgz", "from_": YEAR[0], "to": YEAR[1]}
    out = {f"deeds by {by}": handlers.report(store, "deeds", {**query, "by": by}, TODAY)
           for by in reports.DEED_GROUPINGS}
    for name in sorted(set(reports.REPORTS) - {"deeds"}):
        out[name] = handlers.report(store, name, query, TODAY)
    return out


def test_the_reports_are_about_those_members(reporting):
    """Not vacuous: the members, their deeds, household and honour are there."""
    store, _ = reporting
    summary = handlers.summary(store, "wgz", *YEAR)
    assert summary["members"]["total"] == 2 and summary["household_links"] == 1
    assert summary["deeds"]["total"] == 2 and summary["honours"]["individual"] == 1
    by_member = every_report(store)["deeds by member"]
    assert [(r["member_id"], r["member_name"], r["deeds"]) for r in by_member["rows"]] == [
        ("m1", "张三", 1), ("m2", "李四", 1)]
    assert "张三" in csv_text(table_csv(by_member)) and "李四" in xlsx_text(table_xlsx(by_member))


def test_summary_and_its_exports_hold_no_personal_data(reporting):
    store, _ = reporting
    summary = handlers.summary(store, "wgz", *YEAR)
    assert_no_personal_data("summary", json.dumps(summary, ensure_ascii=False))
    assert_no_personal_data("summary.csv", csv_text(summary_csv(summary)))
    assert_no_personal_data("summary.xlsx", xlsx_text(summary_xlsx(summary, "王哥庄街道")))
    assert_no_personal_data("narrative", narrative(summary, "王哥庄街道"))


def test_every_table_report_and_its_exports_hold_no_personal_data(reporting):
    store, _ = reporting
    bodies = every_report(store)
    assert set(reports.REPORTS) <= {name.split()[0] for name in bodies}
    for name, body in bodies.items():
        assert_no_personal_data(f"{name} (JSON)", json.dumps(body, ensure_ascii=False))
        assert_no_personal_data(f"{name}.csv", csv_text(table_csv(body)))
        assert_no_personal_data(f"{name}.xlsx", xlsx_text(table_xlsx(body)))


def test_event_log_snapshot_and_stored_documents_hold_no_personal_data(reporting):
    store, published = reporting
    events = handlers.find_events(store, {"limit": 1000})
    assert events["count"] >= 8
    assert_no_personal_data("GET /events", json.dumps(events, ensure_ascii=False, default=str))

    snapshot = handlers.publish_snapshot(store, {"period": "2018-06", "org_unit_id": "wgz"}, TODAY)["body"]
    assert snapshot["summary"]["members"]["total"] == 2
    assert_no_personal_data("snapshot", json.dumps(snapshot, ensure_ascii=False, default=str))
    envelopes = [e for _, _, batch in published.calls for e in batch]
    assert [e["event_type"] for e in envelopes] == ["report_published"]
    assert_no_personal_data("report_published", encode(envelopes[0]).decode("utf-8"))

    database = store.db.db
    assert {"events", "snapshots"} <= set(database.list_collection_names())
    for name in database.list_collection_names():
        for doc in database[name].find():
            assert_no_personal_data(f"reporting's {name}", json.dumps(doc, ensure_ascii=False, default=str))
