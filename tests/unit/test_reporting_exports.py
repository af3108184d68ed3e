"""The summary as CSV, XLSX and the Chinese narrative (API.md "Reporting")."""
import copy
import csv
import io
import re
from datetime import date

import pytest

from services.reporting.exports import summary_csv, summary_rows, summary_xlsx
from services.reporting.narrative import cn_count, narrative, period_text
from tests.unit.test_reporting_activities import activity_held, case_resolved, deed_recorded
from tests.unit.test_reporting_activities import tree as activities_tree
from tests.unit.test_reporting_domain import YEAR_2018, model_of
from tests.unit.test_reporting_honours import collective, individual

BOM = b"\xef\xbb\xbf"


def real_summary() -> dict:
    """A summary as ReportModel.summary returns it, from a few events."""
    events = activities_tree() + [
        deed_recorded("d1", "m1", "ca", "2018-03-01", points=2),
        activity_held("a1", "lecture", "za", "2018-03-01", series="小城论剑", session_no=1,
                      speakers=[{"member_id": None, "name": "张", "role": "department_head"}]),
        activity_held("a2", "theme_day", "ca", "2018-04-01"),
        case_resolved("k1", "dispute", "ca", "2018-04-01"),
        collective("h1", "ca", "2018-07-01"), individual("h2", "m1", "ca", "2018-07-01"),
    ]
    return model_of(events).summary("wgz", *YEAR_2018)


def zeroed(summary: dict) -> dict:
    """The same shape, every count zero and no lecture series."""
    def zero(value):
        if isinstance(value, dict):
            return {k: zero(v) for k, v in value.items()}
        return 0 if isinstance(value, int) else value
    out = {k: (v if k in ("org_unit_id", "from", "to") else zero(v)) for k, v in summary.items()}
    out["lecture_series"] = []
    out["honours"]["by_category"] = {}
    return out


def article_summary() -> dict:
    """The source article's figures (王哥庄街道, 2018), in the summary's shape."""
    summary = zeroed(real_summary())
    summary["members"].update(total=2095, party_members=2095)
    summary["members"]["by_stage"]["full"] = 2095
    summary["deeds"].update(total=23561, members_with_deeds=2095)
    summary["activities"]["by_kind"]["lecture"] = 14
    summary["lecture_series"] = [
        {"series": "小城论剑", "sessions": 8, "speakers": 26, "secretaries": 8, "directors": 0,
         "speakers_by_role": {"department_head": 18, "zone_secretary": 8}},
        {"series": "乡村头雁自讲堂", "sessions": 6, "speakers": 38, "secretaries": 34, "directors": 4,
         "speakers_by_role": {"community_secretary": 34, "residents_committee_director": 4}},
    ]
    summary["inspections"].update(rounds=2, units_inspected=34, assessments=68)
    summary["honours"].update(collective=32, individual=43, by_category={"先进个人": 43, "先进集体": 32})
    summary["cases"].update(difficult_matters_solved=1350, disputes_mediated=125)
    return summary


def leaves(summary: dict) -> dict:
    """Every figure of the summary by its stable key, walked independently of exports."""
    out = {k: summary[k] for k in ("org_unit_id", "from", "to")}

    def walk(prefix, value):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}[{k}]" if prefix == "honours.by_category" else f"{prefix}.{k}", v)
        else:
            out[prefix] = value
    for key, value in summary.items():
        if key == "lecture_series":
            for entry in value:
                for k, v in entry.items():
                    if k != "series":
                        walk(f"lecture_series[{entry['series']}].{k}", v)
        elif key not in out:
            if key == "honours":
                for entry in value.get("from_higher_bodies", ()):
                    out[f"honours.from_higher_bodies[{entry['title']}|{entry['awarding_body']}]"] = entry["count"]
                value = {k: v for k, v in value.items() if k != "from_higher_bodies"}
            walk(key, value)
    return out


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_real_summary_shape_is_what_the_exports_expect():
    summary = real_summary()
    assert {"org_unit_id", "from", "to", "members", "household_links", "deeds", "activities",
            "lecture_series", "inspections", "honours", "cases"} <= set(summary)
    assert set(summary["members"]) == {"total", "party_members", "by_stage"}
    assert set(summary["lecture_series"][0]) == {"series", "sessions", "speakers", "secretaries", "directors",
                                                  "speakers_by_role"}
    assert summary["honours"]["by_category"] == {"先进个人": 1, "先进集体": 1}


@pytest.mark.parametrize("make", [real_summary, article_summary])
def test_rows_one_per_figure_report_first(make):
    summary = make()
    rows = summary_rows(summary)
    report = [r[1].split(" ")[0] for r in rows if r[0] == "report"]
    assert report == [k for k in ("org_unit_id", "org_unit_name", "from", "to") if k in summary]
    assert [r[0] for r in rows[:len(report)]] == ["report"] * len(report)
    by_key = {figure.split(" ")[0]: value for _, figure, value in rows}
    assert len(by_key) == len(rows)
    assert by_key == leaves(summary)
    for section, figure, _ in rows:
        key = figure.split(" ")[0]
        assert section == ("report" if key in ("org_unit_id", "org_unit_name", "from", "to")
                           else re.split(r"[.\[]", key)[0])
        assert " " in figure, f"{key} has no Chinese label"


def test_rows_have_chinese_labels_and_stable_keys():
    figures = {figure for _, figure, _ in summary_rows(article_summary())}
    assert "members.total 人员总数（含各发展阶段）" in figures
    assert "members.by_stage.full 正式党员数" in figures
    assert "activities.by_kind.theme_day 主题党日次数" in figures
    assert "lecture_series[小城论剑].sessions “小城论剑”期数" in figures
    assert "lecture_series[乡村头雁自讲堂].speakers_by_role.residents_committee_director " \
           "“乡村头雁自讲堂”发言人数：居委会主任" in figures
    assert "honours.by_category[先进集体] 获评“先进集体”数" in figures
    assert "cases.disputes_mediated 调处化解矛盾纠纷起数" in figures


@pytest.mark.parametrize("make", [real_summary, article_summary])
def test_csv_round_trips(make):
    summary = make()
    data = summary_csv(summary)
    assert data.startswith(BOM)
    rows = read_csv(data)
    assert rows[0] == ["section", "figure", "value"]
    assert rows[1:] == [[s, f, str(v)] for s, f, v in summary_rows(summary)]
    values = {row[1].split(" ")[0]: row[2] for row in rows[1:]}
    assert values == {k: str(v) for k, v in leaves(summary).items()}


def test_csv_quotes_names_with_commas():
    summary = article_summary()
    summary["honours"]["by_category"] = {"先进集体,一等": 2}
    rows = read_csv(summary_csv(summary))
    assert ["honours", "honours.by_category[先进集体,一等] 获评“先进集体,一等”数", "2"] in rows


@pytest.mark.parametrize("make", [real_summary, article_summary])
def test_xlsx_cells_equal_the_csv_rows(make):
    openpyxl = pytest.importorskip("openpyxl")
    summary = make()
    workbook = openpyxl.load_workbook(io.BytesIO(summary_xlsx(summary, "王哥庄街道")))
    assert workbook.sheetnames == ["汇总"]
    sheet = workbook["汇总"]
    assert sheet["A1"].value == "王哥庄街道党建工作汇总（2018年）"
    assert [c.value for c in sheet[2]] == ["section", "figure", "value"]
    assert all(c.font.bold for c in sheet[2])
    cells = [list(row) for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert cells == [list(r) for r in summary_rows(summary)]
    assert [[s, f, str(v)] for s, f, v in cells] == read_csv(summary_csv(summary))[1:]
    numbers = [v for _, f, v in cells if f.split(" ")[0] not in ("org_unit_id", "org_unit_name", "from", "to")]
    assert numbers and all(isinstance(v, int) for v in numbers)
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["A"].width


def test_xlsx_title_without_a_name_uses_the_id_and_the_period():
    openpyxl = pytest.importorskip("openpyxl")
    summary = real_summary() | {"from": "2018-06-01", "to": "2018-06-30"}
    sheet = openpyxl.load_workbook(io.BytesIO(summary_xlsx(summary)))["汇总"]
    assert sheet["A1"].value == "wgz党建工作汇总（2018年6月1日至2018年6月30日）"


# -- the narrative ------------------------------------------------------------------------

ARTICLE_PHRASES = [
    "截至2018年12月31日，王哥庄街道共有党员2095名",
    "王哥庄街道2095名社区党员，共为群众办了23561件小事、实事",
    "“小城论剑”已开展8期，有26个部门负责人和管区书记进行了交流发言",
    "“乡村头雁自讲堂”活动已开展6期，34个党组织书记和4个居委会主任分享了社区工作中的经验和感受",
    "已对王哥庄街道34个社区巡查了两轮",
    "涌现出了32个先进集体、43个先进个人，解决了1350件实事难事",
    "积极参与调处化解矛盾纠纷125起",
]


def test_narrative_tells_the_articles_figures_in_its_phrasing():
    text = narrative(article_summary(), "王哥庄街道")
    for phrase in ARTICLE_PHRASES:
        assert phrase in text, phrase
    for key in ("2095名", "23561件", "8期", "26个", "6期", "34个党组织书记", "4个居委会主任", "34个社区", "两轮",
                "32个先进集体", "43个先进个人", "1350件", "125起"):
        assert key in text, key
    assert "2018年，" in text
    assert "\n\n" in text and "\n\n\n" not in text and text == text.strip()


def test_narrative_numbers_all_come_from_the_summary():
    summary = article_summary()
    summary["members"].update(total=3000, party_members=2900)
    summary["members"]["by_stage"].update(full=2800, probationary=100, applicant=60, activist=40)
    summary["deeds"].update(total=101, members_with_deeds=7, points=250)
    summary["lecture_series"][0]["sessions"] = 9
    summary["inspections"]["rounds"] = 3
    summary["cases"]["disputes_mediated"] = 77
    text = narrative(summary, "王哥庄街道")
    for phrase in ("共有党员2900名，其中正式党员2800名、预备党员100名", "另有入党申请人60名、入党积极分子40名",
                   "7名社区党员，共为群众办了101件小事、实事，累计积分250分", "“小城论剑”已开展9期",
                   "巡查了三轮", "调处化解矛盾纠纷77起"):
        assert phrase in text, phrase
    for gone in ("2095", "23561", "两轮", "125起"):
        assert gone not in text


def test_narrative_with_zeros_has_no_sentence_for_them():
    summary = zeroed(real_summary())
    assert narrative(summary, "王哥庄街道") == "2018年，王哥庄街道暂无可报告的党建工作数据。"
    summary["members"].update(total=12, party_members=12)
    summary["members"]["by_stage"]["full"] = 12
    text = narrative(summary, "王哥庄街道")
    assert text == "截至2018年12月31日，王哥庄街道共有党员12名。"


def test_narrative_skips_each_zero_section():
    summary = article_summary()
    summary["inspections"].update(rounds=0, units_inspected=0)
    summary["honours"].update(collective=0, individual=0, by_category={})
    summary["cases"]["disputes_mediated"] = 0
    summary["lecture_series"] = summary["lecture_series"][:1]
    text = narrative(summary, "王哥庄街道")
    for gone in ("巡查", "先进", "矛盾纠纷", "乡村头雁"):
        assert gone not in text, gone
    assert "解决了1350件实事难事" in text
    assert not re.search(r"(?<!\d)0(?!\d)", text), text      # no "0名", "0个", ...


def test_narrative_activities_and_named_honours():
    summary = copy.deepcopy(article_summary())
    summary["activities"]["by_kind"].update(members_meeting=4, committee_meeting=12, theme_day=12,
                                            political_birthday=3)
    summary["honours"]["by_category"]["上合组织青岛峰会服务保障工作先进集体"] = 1
    summary["honours"]["by_category"]["王哥庄好婆婆"] = 3
    summary["honours"]["from_higher_bodies"] = [{"title": "上合组织青岛峰会服务保障工作先进集体",
                                                 "awarding_body": "青岛市委、市政府", "nominee_kind": "collective",
                                                 "count": 1}]
    summary["household_links"] = 6300
    text = narrative(summary, "王哥庄街道")
    assert "王哥庄街道各级党组织召开党员大会4次、支委会12次，开展主题党日活动12次，为党员过政治生日3次。" in text
    assert "举办讲堂" not in text        # lectures are told by their series
    assert "涌现出了32个先进集体、43个先进个人，解决了1350件实事难事。" in text
    assert "其中，获评“王哥庄好婆婆”3个。" in text
    assert "王哥庄街道获得青岛市委、市政府授予的“上合组织青岛峰会服务保障工作先进集体”光荣称号。" in text
    assert "建立党员联户关系6300个" in text


def test_mixed_speakers_are_told_together():
    summary = zeroed(real_summary())
    summary["lecture_series"] = [{"series": "书记讲堂", "sessions": 3, "speakers": 9, "secretaries": 5,
                                  "directors": 1, "speakers_by_role": {"zone_secretary": 2,
                                                                       "community_secretary": 3,
                                                                       "residents_committee_director": 1,
                                                                       "guest": 3}}]
    text = narrative(summary, "王哥庄街道")
    assert text == ("2018年，“书记讲堂”已开展3期，有2个管区书记、3个党组织书记、1个居委会主任和3位嘉宾"
                    "进行了交流发言。")


def test_period_wording():
    assert period_text("2018-01-01", "2018-12-31") == "2018年"
    assert period_text(date(2017, 1, 1), date(2018, 12, 31)) == "2017年至2018年"
    assert period_text("2018-06-01", "2018-06-30") == "2018年6月1日至2018年6月30日"
    assert period_text("2018-06-12", "2018-06-12") == "2018年6月12日"
    summary = article_summary() | {"from": "2018-06-01", "to": "2018-06-30"}
    text = narrative(summary, "王哥庄街道")
    assert text.startswith("截至2018年6月30日，")
    assert "2018年6月1日至2018年6月30日，王哥庄街道2095名社区党员" in text


def test_small_counts_in_chinese():
    assert [cn_count(n) for n in (1, 2, 3, 10, 11, 0, -1)] == ["一", "两", "三", "十", "11", "0", "-1"]
    assert cn_count(12, limit=99) == "十二" and cn_count(20, limit=99) == "二十" and cn_count(35, limit=99) == "三十五"
