"""The summary as rows, CSV and XLSX (API.md "Reporting": summary.csv and
summary.xlsx). Pure functions of the dict `ReportModel.summary` returns.

One row per figure: (section, figure, value). `section` is the summary's
top-level key ("report" for the org unit and the period, which come first);
`figure` is the stable English key, a space, and a Chinese label for humans,
e.g. ("members", "members.total 人员总数（含各发展阶段）", 2095). Keys are
dotted paths into the summary; free-text names (a lecture series, an honour
category) go in brackets: "lecture_series[小城论剑].sessions",
"honours.by_category[先进集体]". Nested counts (by_stage, by_kind, by_category,
each lecture series and its speakers_by_role) are expanded into one row each,
in the summary's own order; a figure the summary gains later still gets its
row, keyed, with no label until one is added here.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata

from .narrative import period_text

REPORT_KEYS = ("org_unit_id", "org_unit_name", "from", "to")
HEADER = ("section", "figure", "value")
SHEET_TITLE = "汇总"

LABELS = {
    "org_unit_id": "组织单位",
    "org_unit_name": "组织单位名称",
    "from": "起始日期",
    "to": "截止日期",
    "members.total": "人员总数（含各发展阶段）",
    "members.party_members": "党员数（正式党员和预备党员）",
    "household_links": "党员联户关系数",
    "deeds.total": "为群众办小事实事件数",
    "deeds.members_with_deeds": "办事党员人数",
    "deeds.points": "积分合计",
    "inspections.rounds": "巡诊轮数",
    "inspections.units_inspected": "巡诊单位数",
    "inspections.assessments": "巡诊讲评次数",
    "inspections.findings": "发现问题数",
    "inspections.rectified": "整改到位问题数",
    "inspections.overdue": "逾期未整改问题数",
    "honours.collective": "先进集体数",
    "honours.individual": "先进个人数",
    "cases.difficult_matters_solved": "解决实事难事件数",
    "cases.disputes_mediated": "调处化解矛盾纠纷起数",
}
STAGE_LABELS = {"applicant": "入党申请人", "activist": "入党积极分子", "candidate": "发展对象",
                "probationary": "预备党员", "full": "正式党员"}
KIND_LABELS = {"theme_day": "主题党日", "members_meeting": "党员大会", "committee_meeting": "支委会",
               "group_meeting": "党小组会", "party_lesson": "党课", "org_life_meeting": "组织生活会",
               "member_appraisal": "民主评议党员", "lecture": "讲堂", "political_birthday": "政治生日",
               "other": "其他活动"}
ROLE_LABELS = {"department_head": "部门负责人", "zone_secretary": "管区书记", "community_secretary": "社区党组织书记",
               "party_secretary": "党组织书记", "residents_committee_director": "居委会主任", "member": "党员",
               "guest": "嘉宾"}
SERIES_LABELS = {"sessions": "期数", "speakers": "发言人数", "secretaries": "书记发言人数",
                 "directors": "主任发言人数"}
# Dicts whose keys are free text (names), written in brackets.
NAMED_KEYS = {"honours.by_category"}

_SERIES = re.compile(r"^lecture_series\[(?P<name>.*)\]\.(?P<rest>.+)$")


def _label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    if match := _SERIES.match(key):
        name, rest = match["name"], match["rest"]
        if rest.startswith("speakers_by_role."):
            role = rest.removeprefix("speakers_by_role.")
            return f"“{name}”发言人数：{ROLE_LABELS.get(role, role)}"
        return f"“{name}”{SERIES_LABELS[rest]}" if rest in SERIES_LABELS else ""
    if key.startswith("members.by_stage."):
        stage = key.removeprefix("members.by_stage.")
        return f"{STAGE_LABELS.get(stage, stage)}数"
    if key.startswith("activities.by_kind."):
        kind = key.removeprefix("activities.by_kind.")
        return f"{KIND_LABELS.get(kind, kind)}次数"
    if key.startswith("honours.from_higher_bodies[") and key.endswith("]"):
        title, _, body = key[len("honours.from_higher_bodies["):-1].partition("|")
        return f"{body}授予“{title}”数"
    if key.startswith("honours.by_category[") and key.endswith("]"):
        return f"获评“{key[len('honours.by_category['):-1]}”数"
    return ""


def _figure(key: str) -> str:
    label = _label(key)
    return f"{key} {label}" if label else key


def _flatten(section: str, key: str, value) -> list[tuple[str, str, object]]:
    if isinstance(value, dict):
        rows = []
        for child, inner in value.items():
            child_key = f"{key}[{child}]" if key in NAMED_KEYS else f"{key}.{child}"
            rows += _flatten(section, child_key, inner)
        return rows
    return [(section, key, value)]


def _series_rows(series: list) -> list[tuple[str, str, object]]:
    rows = []
    for entry in series or ():
        prefix = f"lecture_series[{entry.get('series')}]"
        for name, value in entry.items():
            if name != "series":
                rows += _flatten("lecture_series", f"{prefix}.{name}", value)
    return rows


def _higher_body_rows(honours: dict) -> list[tuple[str, str, object]]:
    """Honours from higher bodies, one row each: keyed by title and awarding body."""
    rows = []
    for entry in honours.get("from_higher_bodies") or ():
        key = f"honours.from_higher_bodies[{entry.get('title')}|{entry.get('awarding_body')}]"
        rows.append(("honours", key, entry.get("count")))
    return rows


def summary_rows(summary: dict) -> list[tuple[str, str, object]]:
    """The summary as (section, figure, value) rows: the org unit and the
    period first, then every figure in the summary's order."""
    return [(section, _figure(key), value) for section, key, value in summary_figures(summary)]


def summary_figures(summary: dict) -> list[tuple[str, str, object]]:
    """(section, stable key, value) for every figure, in summary_rows' order."""
    rows = [("report", key, summary[key]) for key in REPORT_KEYS if key in summary]
    for section, value in summary.items():
        if section in REPORT_KEYS:
            continue
        if section == "lecture_series":
            rows += _series_rows(value)
        elif section == "honours" and isinstance(value, dict):
            rows += _flatten(section, section, {k: v for k, v in value.items() if k != "from_higher_bodies"})
            rows += _higher_body_rows(value)
        else:
            rows += _flatten(section, section, value)
    return rows


def summary_csv(summary: dict) -> bytes:
    """UTF-8 with a BOM (so Excel reads the Chinese), header section,figure,value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows((section, figure, "" if value is None else value)
                     for section, figure, value in summary_rows(summary))
    return buffer.getvalue().encode("utf-8-sig")


def title(summary: dict, org_unit_name: str | None = None) -> str:
    org = org_unit_name or summary.get("org_unit_id") or ""
    period = period_text(summary["from"], summary["to"]) if "from" in summary and "to" in summary else ""
    return f"{org}党建工作汇总（{period}）" if period else f"{org}党建工作汇总"


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def summary_xlsx(summary: dict, org_unit_name: str | None = None) -> bytes:
    """One sheet, 汇总: a title row (org unit and period), a bold header, then
    the rows of `summary_rows`, numbers as numbers."""
    from openpyxl import Workbook                   # only the XLSX export needs it
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    sheet.append([title(summary, org_unit_name)])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.cell(1, 1).font = Font(bold=True, size=14)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
    sheet.append(list(HEADER))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    rows = summary_rows(summary)
    for section, figure, value in rows:
        sheet.append([section, figure, value if isinstance(value, (int, float)) or value is None else str(value)])
    sheet.freeze_panes = "A3"
    for column, letter in enumerate("ABC"):
        cells = [HEADER[column]] + ["" if row[column] is None else str(row[column]) for row in rows]
        sheet.column_dimensions[letter].width = min(max(_display_width(c) for c in cells) + 2, 80)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -- the table reports (reports.py): one CSV/XLSX rendering for them all --------------------

REPORT_TITLES = {"deeds": "党员为群众办小事实事", "compliance": "“三会一课”落实情况", "inspections": "党建“巡诊”讲评",
                 "honours": "荣誉登记", "cases": "实事难事与矛盾纠纷"}
COLUMN_LABELS = {
    "org_unit_id": "组织单位", "org_unit_name": "组织单位名称", "week": "周次", "week_start": "周起始日",
    "deeds": "办事件数", "members": "党员数", "members_with_deeds": "办事党员数",
    "members_without_deeds": "未办事党员数", "points": "积分", "member_id": "党员", "member_name": "姓名",
    "weeks_with_deeds": "办事周数", "last_done_on": "最近办事日期", "household_id": "联系户",
    "linked_member_id": "联户党员", "month": "月份", "due": "应开展", "held": "已开展", "missed": "未开展",
    "rate": "落实率", "round_id": "巡诊轮次", "round_name": "轮次名称", "zone_id": "管区", "zone_name": "管区名称",
    "inspected_on": "巡诊日期", "score": "得分", "findings": "发现问题", "rectified": "已整改",
    "open": "未整改", "overdue": "逾期未整改", "honour_id": "荣誉", "awarded_on": "授予日期",
    "category_name": "荣誉名称", "nominee_kind": "类别", "nominee_id": "获得者", "nominee_name": "获得者名称",
    "awarding_body": "授予单位", "external": "上级授予", "revoked_on": "撤销日期",
    "difficult_matters_solved": "解决实事难事", "disputes_mediated": "调处矛盾纠纷",
}


def _header(column: str) -> str:
    label = COLUMN_LABELS.get(column)
    return f"{column} {label}" if label else column


def table_rows(report: dict) -> list[list]:
    """Header then one list per row, in the report's column order."""
    columns = report["columns"]
    return [[_header(c) for c in columns]] + [[row.get(c) for c in columns] for row in report["rows"]]


def table_title(report: dict) -> str:
    org = report.get("org_unit_name") or report.get("org_unit_id") or ""
    name = REPORT_TITLES.get(report.get("report"), report.get("report", ""))
    by = {"week": "按周", "member": "按党员", "household": "按联系户", "community": "按社区"}.get(report.get("by"), "")
    as_of = f"，截至{report['as_of']}所知" if report.get("as_of") else ""
    return f"{org}{name}{by}（{period_text(report['from'], report['to'])}{as_of}）"


def table_csv(report: dict) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in table_rows(report):
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def table_xlsx(report: dict) -> bytes:
    """One sheet: a title row, a bold header, the rows (numbers as numbers), and
    a totals row when the report has totals for its columns."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    rows = table_rows(report)
    width = len(report["columns"])
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = REPORT_TITLES.get(report.get("report"), "report")[:31].replace("“", "").replace("”", "")
    sheet.append([table_title(report)])
    if width > 1:
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(1, 1).font = Font(bold=True, size=14)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
    sheet.append(rows[0])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows[1:]:
        sheet.append([v if isinstance(v, (int, float)) or v is None else str(v) for v in row])
    totals = report.get("totals") or {}
    if any(c in totals for c in report["columns"]):
        sheet.append(["合计"] + [totals.get(c) for c in report["columns"][1:]])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    sheet.freeze_panes = "A3"
    for index, column in enumerate(report["columns"], start=1):
        cells = [str(r[index - 1]) for r in rows if r[index - 1] is not None]
        letter = sheet.cell(2, index).column_letter
        sheet.column_dimensions[letter].width = min(max(_display_width(c) for c in cells) + 2, 60)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
