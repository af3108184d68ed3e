"""The table reports as CSV and XLSX (services/reporting/exports.py: table_rows,
table_csv, table_xlsx): one rendering for every report."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from services.reporting import reports
from services.reporting.exports import COLUMN_LABELS, table_csv, table_rows, table_title, table_xlsx
from tests.unit.test_reporting_reports import (H1, JUNE, JUNE_WEEKS, OBLIGATIONS_FROM, TODAY, YEAR, model_of,
                                               street)

BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def model():
    return model_of(street())


def every_report(model) -> dict:
    out = {f"deeds-{g}": reports.deeds(model, "wgz", *JUNE_WEEKS, by=g) for g in reports.DEED_GROUPINGS}
    out["compliance"] = reports.compliance(model, "wgz", *H1, TODAY, OBLIGATIONS_FROM)
    out["inspections"] = reports.inspections(model, "wgz", *YEAR)
    out["honours"] = reports.honours(model, "wgz", *YEAR)
    out["cases"] = reports.cases(model, "wgz", *JUNE)
    return out


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data[len(BOM):].decode("utf-8"))))


def read_xlsx(data: bytes):
    return load_workbook(io.BytesIO(data)).active


def test_table_rows_header_then_rows_in_column_order(model):
    body = reports.deeds(model, "wgz", *JUNE_WEEKS, by="member")
    rows = table_rows(body)
    assert rows[0] == ["member_id 党员", "member_name 姓名", "org_unit_id 组织单位", "org_unit_name 组织单位名称",
                       "deeds 办事件数", "points 积分", "weeks_with_deeds 办事周数", "last_done_on 最近办事日期"]
    assert len(rows) == len(body["rows"]) + 1
    assert rows[1] == ["a1", "张一", "ca", "青山社区", 3, 5, 2, "2018-06-20"]
    assert rows[7] == ["b2", "李二", "cb", "港东社区", 0, 0, 0, None]


def test_every_column_of_every_report_has_a_chinese_label(model):
    for name, body in every_report(model).items():
        assert all(c in COLUMN_LABELS for c in body["columns"]), name


def test_table_csv(model):
    body = reports.deeds(model, "wgz", *JUNE_WEEKS, by="member")
    data = table_csv(body)
    assert data[:3] == BOM
    lines = read_csv(data)
    assert lines[0] == [f"{c} {COLUMN_LABELS[c]}" for c in body["columns"]]
    assert lines[0][0] == "member_id 党员"
    assert len(lines) == len(body["rows"]) + 1
    assert lines[1] == ["a1", "张一", "ca", "青山社区", "3", "5", "2", "2018-06-20"]
    b2 = next(line for line in lines if line[0] == "b2")
    assert b2 == ["b2", "李二", "cb", "港东社区", "0", "0", "0", ""]      # None is empty
    # one line per row: the file has exactly that many records and physical lines
    assert data.decode("utf-8-sig").count("\r\n") == len(body["rows"]) + 1


def test_table_csv_of_a_report_with_no_rows(model):
    body = reports.compliance(model, "wgz", *reports.week_bounds("2017-W10"), TODAY, OBLIGATIONS_FROM)
    assert body["rows"] == []
    assert read_csv(table_csv(body)) == [[f"{c} {COLUMN_LABELS[c]}" for c in body["columns"]]]


def test_table_xlsx_title_header_numbers_and_totals(model):
    body = reports.deeds(model, "wgz", *JUNE_WEEKS, by="community")
    sheet = read_xlsx(table_xlsx(body))
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert sheet.title == "党员为群众办小事实事"
    assert values[0][0] == table_title(body) == "王哥庄街道党员为群众办小事实事按社区（2018年6月4日至2018年6月24日）"
    assert values[1] == [f"{c} {COLUMN_LABELS[c]}" for c in body["columns"]]
    assert values[2] == ["ca", "青山社区", 3, 5, 7, 9]
    assert all(isinstance(v, int) for row in values[2:] for v in row[2:])
    assert values[-1] == ["合计", None, 8, 8, 11, 15]
    assert len(values) == 2 + len(body["rows"]) + 1
    assert sheet.freeze_panes == "A3"


def test_table_xlsx_none_stays_empty_and_rates_are_numbers(model):
    members = read_xlsx(table_xlsx(reports.deeds(model, "wgz", *JUNE_WEEKS, by="member")))
    b2 = next(list(r) for r in members.iter_rows(min_row=3, values_only=True) if r[0] == "b2")
    assert b2 == ["b2", "李二", "cb", "港东社区", 0, 0, 0, None]
    compliance = reports.compliance(model, "ca", *H1, TODAY, OBLIGATIONS_FROM)
    sheet = read_xlsx(table_xlsx(compliance))
    assert sheet.title == "三会一课落实情况"
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    june = next(r for r in values if r[2] == "2018-06")
    assert june == ["ca", "青山社区", "2018-06", 5, 4, 1, 0.8]
    assert values[-1] == ["合计", None, None, 22, 20, 2, round(20 / 22, 4)]


def test_a_report_without_totals_for_its_columns_has_no_totals_row(model):
    body = reports.honours(model, "wgz", *YEAR)
    values = [list(r) for r in read_xlsx(table_xlsx(body)).iter_rows(values_only=True)]
    assert len(values) == 2 + len(body["rows"])
    assert "合计" not in [r[0] for r in values]
    h5 = next(r for r in values if r[0] == "h5")
    assert h5[body["columns"].index("external")] is True
    assert h5[body["columns"].index("revoked_on")] is None


def test_as_of_is_in_the_title(model):
    body = {**reports.cases(model, "wgz", *JUNE), "as_of": "2018-07-05"}
    assert table_title(body) == "王哥庄街道实事难事与矛盾纠纷（2018年6月1日至2018年6月30日，截至2018-07-05所知）"
    assert table_title({**body, "as_of": None}) == "王哥庄街道实事难事与矛盾纠纷（2018年6月1日至2018年6月30日）"
    assert read_xlsx(table_xlsx(body))["A1"].value == table_title(body)


def test_every_report_kind_renders(model):
    for name, body in every_report(model).items():
        lines = read_csv(table_csv(body))
        assert len(lines) == len(body["rows"]) + 1, name
        assert lines[0] == [f"{c} {COLUMN_LABELS[c]}" for c in body["columns"]], name
        values = [list(r) for r in read_xlsx(table_xlsx(body)).iter_rows(values_only=True)]
        assert values[1] == lines[0], name
        has_totals = any(c in body["totals"] for c in body["columns"])
        assert len(values) == 2 + len(body["rows"]) + has_totals, name
        for row, data in zip(body["rows"], values[2:]):
            assert data == [row[c] for c in body["columns"]], name
        if has_totals:
            assert values[-1][0] == "合计"
            assert values[-1][1:] == [body["totals"].get(c) for c in body["columns"][1:]], name
