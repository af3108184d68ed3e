"""The table reports (services/reporting/reports.py) on a small, realistic street:
exact figures for every report and grouping, order independence, late events,
and agreement with the summary's figures.

The street (`street()`):

    wgz 王哥庄街道 (street, working committee p-wgz: owes no 三会一课)
    ├── za 东管区 (zone, no Party organisation)
    │   ├── ca 青山社区 (branch p-ca) ── ga 青山一网格 (grid)
    │   └── cb 港东社区 (branch p-cb)
    └── zb 西管区 (zone)
        └── cc 晓望社区 (branch p-cc)

Members (name, unit, stage):
    a1 张一 ca full, linked to household h1       b1 李一 cb full, linked to h2
    a2 张二 ga full                                b2 李二 cb full (no deed in June)
    a3 张三 ca probationary from 2018-03-01        c1 王一 cc full
    a4 张四 ca applicant (not a party member)      c2 王二 cc full, linked to h3 from 2018-06-01
    a5 张五 ca full, transferred out 2018-06-13    c3 王三 cc probationary from 2018-06-14

June 2018, ISO weeks W23 (06-04..06-10), W24 (06-11..06-17), W25 (06-18..06-24):
    W23 d1 a1 ca p1 | d2 a1 ca p2 h1 | d3 b1 cb p1 h2 | d4 c1 cc p1 | d5 a5 ca p1
    W24 d6 a3 ca p1 | d7 b1 cb p1 h2 DISPUTED | d8 a4 ca p1 | d9 c2 cc p3 h3 | d15 a2 ga p1
    W25 d10 a1 ca p2 h1 | d11 b1 cb p1 (Sunday)
    outside: d12 a1 ca 06-03 (W22) | d13 c1 cc 06-25 (W26)
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from lianxin.catalog import CATALOG
from lianxin.envelope import BUSINESS_TZ
from lianxin.errors import InvalidInput, NotFound
from services.reporting import reports
from services.reporting.domain import ReportModel

OCCURRED = datetime(2018, 7, 5, 9, 30, tzinfo=BUSINESS_TZ)
SHANGHE = "上合组织青岛峰会服务保障工作先进集体"
CATEGORY_IDS = {"先进个人": "xj-gr", "先进集体": "xj-jt", SHANGHE: "external-shanghe"}
NAMES = {"wgz": "王哥庄街道", "za": "东管区", "zb": "西管区", "ca": "青山社区", "cb": "港东社区", "cc": "晓望社区",
         "ga": "青山一网格"}

JUNE_WEEKS = (date(2018, 6, 4), date(2018, 6, 24))
JUNE = (date(2018, 6, 1), date(2018, 6, 30))
H1 = (date(2018, 1, 1), date(2018, 6, 30))
Q2 = (date(2018, 4, 1), date(2018, 6, 30))
YEAR = (date(2018, 1, 1), date(2018, 12, 31))
TODAY = date(2018, 7, 10)
OBLIGATIONS_FROM = date(2018, 1, 1)


def D(text: str) -> date:
    return date.fromisoformat(text)


# -- event builders ----------------------------------------------------------------------------

def ev(event_type: str, data: dict, source: str, org_unit_id: str | None, occurred_at: datetime = OCCURRED):
    return CATALOG.validate(CATALOG.new_event(event_type, data, source=source, org_unit_id=org_unit_id,
                                              occurred_at=occurred_at))


def unit(unit_id, level, parent_id=None):
    return ev("org_unit_created", {"org_unit_id": unit_id, "name": NAMES[unit_id], "level": level,
                                   "parent_id": parent_id}, "membership", unit_id)


def party_org(org_id, kind, unit_id, parent_id=None):
    return ev("party_org_created", {"party_org_id": org_id, "name": f"{NAMES[unit_id]}党组织", "kind": kind,
                                    "parent_id": parent_id, "org_unit_id": unit_id}, "membership", unit_id)


def member(member_id, name, unit_id, stage="full", admitted_on="2000-07-01", stage_since=None):
    admitted = D(admitted_on) if admitted_on else None
    if stage_since is None:
        stage_since = admitted.replace(year=admitted.year + 1) if stage == "full" else admitted
    else:
        stage_since = D(stage_since)
    return ev("member_registered", {
        "member_id": member_id, "name": name, "gender": "female", "birth_date": date(1975, 3, 1),
        "org_unit_id": unit_id, "stage": stage, "stage_since": stage_since, "admitted_on": admitted,
    }, "membership", unit_id)


def status_changed(member_id, unit_id, status, on):
    return ev("member_status_changed", {"member_id": member_id, "org_unit_id": unit_id, "from_status": "active",
                                        "status": status, "effective_on": D(on), "reason": "组织关系转出"},
              "membership", unit_id)


def linked(link_id, member_id, household_id, unit_id, on):
    return ev("household_linked", {"link_id": link_id, "member_id": member_id, "household_id": household_id,
                                   "org_unit_id": unit_id, "address": None, "linked_on": D(on)},
              "membership", unit_id)


def deed(deed_id, member_id, unit_id, on, points=1, household=None, occurred_at=OCCURRED):
    return ev("deed_recorded", {
        "deed_id": deed_id, "member_id": member_id, "household_id": household, "org_unit_id": unit_id,
        "done_on": D(on), "category": "visit", "description": "帮扶", "recorded_by": member_id,
        "points": points}, "activities", unit_id, occurred_at)


def disputed(deed_id, member_id, unit_id, on):
    return ev("deed_disputed", {"deed_id": deed_id, "member_id": member_id, "org_unit_id": unit_id,
                                "decided_on": D(on), "note": "不实"}, "activities", unit_id)


def held(activity_id, kind, unit_id, on):
    return ev("activity_held", {
        "activity_id": activity_id, "kind": kind, "series": None, "session_no": None, "title": activity_id,
        "org_unit_id": unit_id, "held_on": D(on), "attendee_ids": [], "absentees": [], "speakers": [],
        "expected": None}, "activities", unit_id)


def rule(kind, frequency, unit_id=None):
    return ev("obligation_rule_set", {"kind": kind, "frequency": frequency, "org_unit_id": unit_id},
              "activities", unit_id)


def resolved(case_id, kind, unit_id, on):
    return ev("case_resolved", {"case_id": case_id, "kind": kind, "org_unit_id": unit_id,
                                "resolved_on": D(on), "outcome": "办结"}, "activities", unit_id)


def round_opened(round_id, name):
    return ev("inspection_round_opened", {
        "round_id": round_id, "name": name, "scope_org_unit_ids": ["wgz"], "unit_ids": ["ca", "cb", "cc"],
        "checklist_id": "cl", "checklist_version": 1, "starts_on": D("2018-01-01"), "ends_on": D("2018-12-31"),
        "inspectors": ["insp"], "follows_round_id": None}, "inspections", None)


def assessed(assessment_id, round_id, unit_id, on, total):
    return ev("unit_assessed", {"assessment_id": assessment_id, "round_id": round_id, "org_unit_id": unit_id,
                                "inspected_on": D(on), "scores": {"a": 8.0}, "total": total, "inspector": "insp"},
              "inspections", unit_id)


def _finding(event_type, finding_id, unit_id, round_id, occurred_at=OCCURRED, **data):
    return ev(event_type, {"finding_id": finding_id, "round_id": round_id, "org_unit_id": unit_id, **data},
              "inspections", unit_id, occurred_at)


def raised(finding_id, unit_id, on, status="confirmed", round_id="r1"):
    return _finding("finding_raised", finding_id, unit_id, round_id, item="a", severity="high",
                    description="问题", found_on=D(on), status=status)


def confirmed(finding_id, unit_id, on, round_id="r1"):
    return _finding("finding_confirmed", finding_id, unit_id, round_id, decided_on=D(on), inspector="insp")


def dismissed(finding_id, unit_id, on, round_id="r1"):
    return _finding("finding_dismissed", finding_id, unit_id, round_id, decided_on=D(on), inspector="insp")


def planned(finding_id, unit_id, due_on, round_id="r1"):
    return _finding("rectification_planned", finding_id, unit_id, round_id, owner="书记", due_on=D(due_on),
                    plan="整改")


def verified(finding_id, unit_id, on, round_id="r1", occurred_at=OCCURRED):
    return _finding("rectification_verified", finding_id, unit_id, round_id, occurred_at, verified_on=D(on),
                    inspector="insp", note=None)


def reopened(finding_id, unit_id, on, round_id="r1", occurred_at=OCCURRED + timedelta(hours=1)):
    return _finding("finding_reopened", finding_id, unit_id, round_id, occurred_at, reopened_on=D(on),
                    inspector="insp", reason="recurred", note=None)


def awarded(honour_id, kind, nominee_id, unit_id, on, category, body="王哥庄街道党工委", external=False):
    return ev("honour_awarded", {
        "honour_id": honour_id, "category_id": CATEGORY_IDS[category], "category_name": category,
        "nominee_kind": kind, "nominee_id": nominee_id, "org_unit_id": unit_id, "year": D(on).year,
        "awarded_on": D(on), "awarding_body": body, "external": external}, "honours", unit_id)


def revoked(honour_id, nominee_id, unit_id, on, category="先进个人"):
    return ev("honour_revoked", {"honour_id": honour_id, "category_id": CATEGORY_IDS[category],
                                 "nominee_id": nominee_id, "org_unit_id": unit_id, "revoked_on": D(on),
                                 "reason": "违纪"}, "honours", unit_id)


# -- the street ----------------------------------------------------------------------------------

def tree_and_members() -> list:
    return [
        unit("wgz", "street"), unit("za", "zone", "wgz"), unit("zb", "zone", "wgz"),
        unit("ca", "community", "za"), unit("cb", "community", "za"), unit("cc", "community", "zb"),
        unit("ga", "grid", "ca"),
        party_org("p-wgz", "working_committee", "wgz"),
        party_org("p-ca", "branch", "ca", "p-wgz"), party_org("p-cb", "branch", "cb", "p-wgz"),
        party_org("p-cc", "branch", "cc", "p-wgz"),
        member("a1", "张一", "ca"), member("a2", "张二", "ga", admitted_on="1995-07-01"),
        member("a3", "张三", "ca", stage="probationary", admitted_on="2018-03-01"),
        member("a4", "张四", "ca", stage="applicant", admitted_on=None, stage_since="2017-05-01"),
        member("a5", "张五", "ca", admitted_on="1990-07-01"), status_changed("a5", "ca", "transferred_out", "2018-06-13"),
        member("b1", "李一", "cb", admitted_on="2005-07-01"), member("b2", "李二", "cb", admitted_on="2010-07-01"),
        member("c1", "王一", "cc", admitted_on="2008-07-01"), member("c2", "王二", "cc", admitted_on="2012-07-01"),
        member("c3", "王三", "cc", stage="probationary", admitted_on="2018-06-14"),
        linked("l1", "a1", "h1", "ca", "2017-01-01"), linked("l2", "b1", "h2", "cb", "2018-01-01"),
        linked("l3", "c2", "h3", "cc", "2018-06-01"),
    ]


def deeds_june() -> list:
    return [
        deed("d1", "a1", "ca", "2018-06-04"), deed("d2", "a1", "ca", "2018-06-06", 2, "h1"),
        deed("d3", "b1", "cb", "2018-06-05", 1, "h2"), deed("d4", "c1", "cc", "2018-06-07"),
        deed("d5", "a5", "ca", "2018-06-08"),
        deed("d6", "a3", "ca", "2018-06-12"), deed("d7", "b1", "cb", "2018-06-13", 1, "h2"),
        disputed("d7", "b1", "cb", "2018-06-15"),
        deed("d8", "a4", "ca", "2018-06-14"), deed("d9", "c2", "cc", "2018-06-16", 3, "h3"),
        deed("d15", "a2", "ga", "2018-06-15"),
        deed("d10", "a1", "ca", "2018-06-20", 2, "h1"), deed("d11", "b1", "cb", "2018-06-24"),
        deed("d12", "a1", "ca", "2018-06-03"), deed("d13", "c1", "cc", "2018-06-25"),
    ]


def activities_2018() -> list:
    """三会一课 in the first half of 2018 (see test_compliance_cells for what each branch owes)."""
    events = [rule("party_lesson", "monthly", "cb"), rule("group_meeting", None, "cc")]
    for month in range(1, 7):
        m = f"2018-{month:02d}"
        events += [held(f"ca-td-{month}", "theme_day", "ca", f"{m}-10"),
                   held(f"ca-cm-{month}", "committee_meeting", "ca", f"{m}-12"),
                   held(f"cb-cm-{month}", "committee_meeting", "cb", f"{m}-12"),
                   held(f"cb-gm-{month}", "group_meeting", "cb", f"{m}-15"),
                   held(f"cc-td-{month}", "theme_day", "cc", f"{m}-10"),
                   held(f"cc-cm-{month}", "committee_meeting", "cc", f"{m}-12")]
        if month != 5:                                              # ca misses its 党小组会 in May
            events.append(held(f"ca-gm-{month}", "group_meeting", "ca", f"{m}-15"))
        if month != 6:                                              # cb misses its 主题党日 in June
            events.append(held(f"cb-td-{month}", "theme_day", "cb", f"{m}-10"))
        if month >= 4:                                              # cb's monthly 党课 from April only
            events.append(held(f"cb-pl-{month}", "party_lesson", "cb", f"{m}-20"))
    events += [
        held("ca-mm-1", "members_meeting", "ca", "2018-02-20"), held("ca-mm-2", "members_meeting", "ca", "2018-05-20"),
        held("ca-pl-1", "party_lesson", "ca", "2018-03-25"), held("ca-ol", "org_life_meeting", "ca", "2018-01-28"),
        held("cb-mm-1", "members_meeting", "cb", "2018-03-05"), held("cb-mm-2", "members_meeting", "cb", "2018-06-05"),
        held("cc-mm-2", "members_meeting", "cc", "2018-06-28"),
        held("cc-pl-a", "party_lesson", "cc", "2018-04-10"), held("cc-pl-b", "party_lesson", "cc", "2018-06-10"),
        held("cc-pl-old", "party_lesson", "cc", "2017-12-20"),     # Q4 2017: no help for 2018-Q1
        held("ga-td", "theme_day", "ga", "2018-05-10"),             # a grid: not the branch's unit
        held("za-td", "theme_day", "za", "2018-05-10"),             # a zone without a Party organisation
        held("wgz-lecture", "lecture", "wgz", "2018-06-08"),
    ]
    return events


def inspections_2018() -> list:
    """Round r1 (March) over ca, cb, cc and r2 (回头看, September) over ca.

    f1 ca: planned 04-30, verified 04-20               -> rectified
    f2 ca: draft, dismissed                            -> not a finding
    f3 cb: draft then confirmed, planned 05-31         -> overdue from 06-01
    f4 cb: planned 07-31                               -> open in H1, overdue by the year's end
    f5 cc: planned 04-30, verified 04-25, reopened 05-10 -> overdue
    f6 cc: no plan                                      -> open, never overdue
    f7 ca: planned 05-31, verified 07-05               -> overdue on 06-30, rectified by 12-31
    f8 ca (r2): found 09-05, planned 10-31             -> overdue on 12-31
    f9 cc: found 04-02 (after the assessment)          -> open
    """
    return [
        round_opened("r1", "2018年第一轮党建巡诊"), round_opened("r2", "2018年巡诊回头看"),
        assessed("as1", "r1", "ca", "2018-03-05", 85.0), assessed("as2", "r1", "cb", "2018-03-06", 78.5),
        assessed("as3", "r1", "cc", "2018-03-07", 92.0), assessed("as4", "r2", "ca", "2018-09-05", 90.0),
        raised("f1", "ca", "2018-03-05"), planned("f1", "ca", "2018-04-30"), verified("f1", "ca", "2018-04-20"),
        raised("f2", "ca", "2018-03-05", status="draft"), dismissed("f2", "ca", "2018-03-06"),
        raised("f3", "cb", "2018-03-06", status="draft"), confirmed("f3", "cb", "2018-03-08"),
        planned("f3", "cb", "2018-05-31"),
        raised("f4", "cb", "2018-03-06"), planned("f4", "cb", "2018-07-31"),
        raised("f5", "cc", "2018-03-07"), planned("f5", "cc", "2018-04-30"), verified("f5", "cc", "2018-04-25"),
        reopened("f5", "cc", "2018-05-10"),
        raised("f6", "cc", "2018-03-07"),
        raised("f7", "ca", "2018-03-05"), planned("f7", "ca", "2018-05-31"), verified("f7", "ca", "2018-07-05"),
        raised("f8", "ca", "2018-09-05", round_id="r2"), planned("f8", "ca", "2018-10-31", round_id="r2"),
        raised("f9", "cc", "2018-04-02"),
    ]


def honours_2018() -> list:
    return [
        awarded("h1", "individual", "a1", "ca", "2018-07-01", "先进个人"),
        awarded("h2", "individual", "b1", "cb", "2018-07-01", "先进个人"),
        awarded("h3", "collective", "cc", "cc", "2018-07-01", "先进集体"),
        awarded("h4", "collective", "ca", "ca", "2018-07-01", "先进集体"),
        awarded("h5", "collective", "wgz", "wgz", "2018-07-20", SHANGHE, body="青岛市委、市政府", external=True),
        awarded("h6", "individual", "c1", "cc", "2018-07-01", "先进个人"), revoked("h6", "c1", "cc", "2018-09-01"),
        awarded("h7", "individual", "a2", "ga", "2017-07-01", "先进个人"),
        awarded("h8", "individual", "b2", "cb", "2018-07-01", "先进个人"), revoked("h8", "b2", "cb", "2019-02-01"),
    ]


def cases_2018() -> list:
    return [
        resolved("k1", "difficult_matter", "ca", "2018-06-05"), resolved("k2", "dispute", "ga", "2018-06-10"),
        resolved("k3", "dispute", "cb", "2018-06-20"), resolved("k4", "difficult_matter", "cc", "2018-06-15"),
        resolved("k5", "difficult_matter", "za", "2018-06-18"),    # by the zone itself
        resolved("k7", "dispute", "wgz", "2018-06-25"),            # by the street itself
        resolved("k6", "dispute", "cc", "2018-07-02"),
    ]


def street() -> list:
    return tree_and_members() + deeds_june() + activities_2018() + inspections_2018() + honours_2018() \
        + cases_2018()


def model_of(events) -> ReportModel:
    model = ReportModel()
    model.apply(list(events))
    return model


@pytest.fixture(scope="module")
def model() -> ReportModel:
    return model_of(street())


def by(rows: list[dict], *keys) -> dict:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


def pick(row: dict, *keys) -> tuple:
    return tuple(row[k] for k in keys)


# -- helpers -------------------------------------------------------------------------------------

def test_iso_week_and_week_bounds():
    assert reports.iso_week(D("2018-06-04")) == "2018-W23"
    assert reports.iso_week(D("2018-06-10")) == "2018-W23"
    assert reports.iso_week(D("2018-06-11")) == "2018-W24"
    assert reports.iso_week(D("2018-12-31")) == "2019-W01"       # ISO year, not calendar year
    assert reports.iso_week(D("2021-01-03")) == "2020-W53"
    assert reports.week_bounds("2018-W23") == (D("2018-06-04"), D("2018-06-10"))
    assert reports.week_bounds("2019-W01") == (D("2018-12-31"), D("2019-01-06"))
    for bad in ("2018-23", "2018-W54", "W23", "2018-Wx"):
        with pytest.raises(InvalidInput):
            reports.week_bounds(bad)


def test_every_report_has_the_common_shape(model):
    for name, body in [("deeds", reports.deeds(model, "wgz", *JUNE)),
                       ("compliance", reports.compliance(model, "wgz", *YEAR, TODAY, OBLIGATIONS_FROM)),
                       ("inspections", reports.inspections(model, "wgz", *YEAR)),
                       ("honours", reports.honours(model, "wgz", *YEAR)),
                       ("cases", reports.cases(model, "wgz", *YEAR))]:
        assert body["report"] == name
        assert (body["org_unit_id"], body["org_unit_name"]) == ("wgz", "王哥庄街道")
        assert (body["from"], body["to"]) == (YEAR[0].isoformat() if name != "deeds" else "2018-06-01",
                                              YEAR[1].isoformat() if name != "deeds" else "2018-06-30")
        assert body["rows"], name
        for row in body["rows"]:
            assert list(row) == body["columns"], name
    assert reports.REPORTS.keys() == {"deeds", "compliance", "inspections", "honours", "cases"}


def test_unknown_unit_and_bad_grouping_are_refused(model):
    with pytest.raises(NotFound):
        reports.deeds(model, "nowhere", *JUNE)
    with pytest.raises(InvalidInput) as info:
        reports.deeds(model, "wgz", *JUNE, by="zone")
    assert list(info.value.errors) == ["by"]


# -- deeds ---------------------------------------------------------------------------------------

WEEK_COLUMNS = ("deeds", "members", "members_with_deeds", "members_without_deeds")


def test_deeds_by_week(model):
    body = reports.deeds(model, "wgz", *JUNE_WEEKS, by="week")
    assert body["by"] == "week"
    assert [(r["week"], r["org_unit_id"]) for r in body["rows"]] == [
        (w, c) for w in ("2018-W23", "2018-W24", "2018-W25") for c in ("ca", "cb", "cc")]
    rows = by(body["rows"], "week", "org_unit_id")
    assert rows[("2018-W23", "ca")]["week_start"] == "2018-06-04"
    assert rows[("2018-W25", "cc")]["org_unit_name"] == "晓望社区"
    figures = {key: pick(row, *WEEK_COLUMNS) for key, row in rows.items()}
    assert figures == {
        # W23, counted on 06-10: ca a1 a2 a3 a5 (a4 is an applicant); doers a1 a5.
        ("2018-W23", "ca"): (3, 4, 2, 2),
        ("2018-W23", "cb"): (1, 2, 1, 1),
        ("2018-W23", "cc"): (1, 2, 1, 1),           # c3 not admitted until 06-14
        # W24, counted on 06-17: a5 has left; the applicant a4 did one (a doer, not a party member);
        # b1's deed is disputed; c3 is now a party member.
        ("2018-W24", "ca"): (3, 3, 3, 1),
        ("2018-W24", "cb"): (0, 2, 0, 2),
        ("2018-W24", "cc"): (1, 3, 1, 2),
        ("2018-W25", "ca"): (1, 3, 1, 2),
        ("2018-W25", "cb"): (1, 2, 1, 1),           # Sunday 06-24 is in the week
        ("2018-W25", "cc"): (0, 3, 0, 3),
    }
    assert body["totals"] == {"deeds": 11}
    assert sum(r["deeds"] for r in body["rows"]) == body["totals"]["deeds"]


def test_deeds_by_week_clips_the_first_and_last_weeks_to_the_period(model):
    body = reports.deeds(model, "za", D("2018-06-06"), D("2018-06-12"), by="week")
    rows = by(body["rows"], "week", "org_unit_id")
    assert set(rows) == {("2018-W23", "ca"), ("2018-W23", "cb"), ("2018-W24", "ca"), ("2018-W24", "cb")}
    # W23 from 06-06: d2 and d5 (d1 on 06-04 is before the period); W24 up to 06-12: d6, counted on 06-12.
    assert pick(rows[("2018-W23", "ca")], *WEEK_COLUMNS) == (2, 4, 2, 2)
    assert pick(rows[("2018-W24", "ca")], *WEEK_COLUMNS) == (1, 4, 1, 3)    # a5 still counted on 06-12
    assert rows[("2018-W23", "ca")]["week_start"] == "2018-06-04"           # the week's Monday all the same
    assert pick(rows[("2018-W23", "cb")], *WEEK_COLUMNS) == (0, 2, 0, 2)    # d3 on 06-05 is outside
    assert body["totals"] == {"deeds": 3}


def test_deeds_by_member(model):
    body = reports.deeds(model, "wgz", *JUNE_WEEKS, by="member")
    assert [r["member_id"] for r in body["rows"]] == ["a1", "a2", "a3", "a4", "a5", "b1", "b2", "c1", "c2", "c3"]
    cols = ("member_name", "org_unit_id", "deeds", "points", "weeks_with_deeds", "last_done_on")
    assert {r["member_id"]: pick(r, *cols) for r in body["rows"]} == {
        "a1": ("张一", "ca", 3, 5, 2, "2018-06-20"),
        "a2": ("张二", "ga", 1, 1, 1, "2018-06-15"),
        "a3": ("张三", "ca", 1, 1, 1, "2018-06-12"),
        "a4": ("张四", "ca", 1, 1, 1, "2018-06-14"),     # not a party member, but did a deed
        "a5": ("张五", "ca", 1, 1, 1, "2018-06-08"),     # left on 06-13, listed for the deed before
        "b1": ("李一", "cb", 2, 2, 2, "2018-06-24"),     # d7 disputed
        "b2": ("李二", "cb", 0, 0, 0, None),             # a party member with no deed: listed with 0
        "c1": ("王一", "cc", 1, 1, 1, "2018-06-07"),
        "c2": ("王二", "cc", 1, 3, 1, "2018-06-16"),
        "c3": ("王三", "cc", 0, 0, 0, None),
    }
    assert by(body["rows"], "member_id")["a2"]["org_unit_name"] == "青山一网格"
    # members: the party members counted on `to`; the rows also list other doers
    assert body["totals"] == {"deeds": 11, "points": 15, "members": 8, "members_with_deeds": 8,
                              "members_without_deeds": 2}
    # a community's members only
    cc = reports.deeds(model, "cc", *JUNE_WEEKS, by="member")
    assert [(r["member_id"], r["deeds"]) for r in cc["rows"]] == [("c1", 1), ("c2", 1), ("c3", 0)]


def test_deeds_by_household(model):
    body = reports.deeds(model, "wgz", *JUNE_WEEKS, by="household")
    cols = ("org_unit_id", "org_unit_name", "linked_member_id", "deeds", "members", "last_done_on")
    assert [r["household_id"] for r in body["rows"]] == ["h1", "h2", "h3"]
    assert {r["household_id"]: pick(r, *cols) for r in body["rows"]} == {
        "h1": ("ca", "青山社区", "a1", 2, 1, "2018-06-20"),
        "h2": ("cb", "港东社区", "b1", 1, 1, "2018-06-05"),     # the disputed d7 does not count
        "h3": ("cc", "晓望社区", "c2", 1, 1, "2018-06-16"),
    }
    assert body["totals"] == {"deeds": 4, "households": 3}
    assert reports.deeds(model, "zb", *JUNE_WEEKS, by="household")["totals"] == {"deeds": 1, "households": 1}


def test_deeds_by_community(model):
    body = reports.deeds(model, "wgz", *JUNE_WEEKS)
    assert body["by"] == "community"
    cols = ("org_unit_name", "members", "members_with_deeds", "deeds", "points")
    assert [r["org_unit_id"] for r in body["rows"]] == ["ca", "cb", "cc"]
    assert {r["org_unit_id"]: pick(r, *cols) for r in body["rows"]} == {
        "ca": ("青山社区", 3, 5, 7, 9),      # the grid's a2 counts in ca; a5 and a4 did deeds but are not counted
        "cb": ("港东社区", 2, 1, 2, 2),
        "cc": ("晓望社区", 3, 2, 2, 4),
    }
    assert body["totals"] == {"members": 8, "deeds": 11, "points": 15, "members_with_deeds": 8}
    for key in ("members", "deeds", "points", "members_with_deeds"):
        assert sum(r[key] for r in body["rows"]) == body["totals"][key]
    # a zone: its communities; a community: itself; a grid (below community): itself
    assert [r["org_unit_id"] for r in reports.deeds(model, "za", *JUNE_WEEKS)["rows"]] == ["ca", "cb"]
    assert [pick(r, "org_unit_id", "deeds") for r in reports.deeds(model, "ca", *JUNE_WEEKS)["rows"]] == [("ca", 7)]
    assert [pick(r, "org_unit_id", "deeds", "members") for r in reports.deeds(model, "ga", *JUNE_WEEKS)["rows"]] \
        == [("ga", 1, 1)]
    # the whole month adds d12 (06-03) and d13 (06-25)
    assert reports.deeds(model, "wgz", *JUNE)["totals"] == {"members": 8, "deeds": 13, "points": 17,
                                                             "members_with_deeds": 8}


# -- 三会一课 compliance -----------------------------------------------------------------------------

def cells(body: dict) -> dict:
    return {(r["org_unit_id"], r["month"]): (r["due"], r["held"], r["missed"]) for r in body["rows"]}


def test_compliance_cells(model):
    """Defaults: 主题党日, 支委会, 党小组会 monthly; 党员大会, 党课 quarterly; 组织生活会, 民主评议 yearly.
    cb holds 党课 monthly (its own rule); cc has no 党小组 (its own rule drops it)."""
    body = reports.compliance(model, "wgz", *YEAR, TODAY, OBLIGATIONS_FROM)
    assert body["branches"] == 3                # not the street's working committee, not the zones
    got = cells(body)
    assert len(got) == 36 and {u for u, _ in got} == {"ca", "cb", "cc"}
    expected = {}
    for month in range(1, 13):
        m = f"2018-{month:02d}"
        quarter_end, december = month in (3, 6, 9, 12), month == 12
        expected[("ca", m)] = [3 + 2 * quarter_end + 2 * december, 0, 0]
        expected[("cb", m)] = [4 + 1 * quarter_end + 2 * december, 0, 0]
        expected[("cc", m)] = [2 + 2 * quarter_end + 2 * december, 0, 0]
    # ca: May's 党小组会 missed; Q2's 党课 missed; 组织生活会 held in January (the year's, due in December).
    for m, held_, missed in (("01", 3, 0), ("02", 3, 0), ("03", 5, 0), ("04", 3, 0), ("05", 2, 1), ("06", 4, 1),
                             ("12", 1, 0)):
        expected[("ca", f"2018-{m}")][1:] = [held_, missed]
    # cb: no 党课 in Jan-Mar; no 主题党日 in June; 党员大会 in Q1 and Q2.
    for m, held_, missed in (("01", 3, 1), ("02", 3, 1), ("03", 4, 1), ("04", 4, 0), ("05", 4, 0), ("06", 4, 1)):
        expected[("cb", f"2018-{m}")][1:] = [held_, missed]
    # cc: nothing quarterly in Q1 (December 2017's 党课 is Q4 2017); both in Q2.
    for m, held_, missed in (("01", 2, 0), ("02", 2, 0), ("03", 2, 2), ("04", 2, 0), ("05", 2, 0), ("06", 4, 0)):
        expected[("cc", f"2018-{m}")][1:] = [held_, missed]
    assert got == {k: tuple(v) for k, v in expected.items()}
    assert body["totals"] == {"due": 134, "held": 57, "missed": 8, "rate": round(57 / 134, 4)}
    ca_june = by(body["rows"], "org_unit_id", "month")[("ca", "2018-06")]
    assert (ca_june["org_unit_name"], ca_june["rate"]) == ("青山社区", 0.8)
    # the obligations behind the cells: cc's two 党课 in Q2 are one obligation held twice
    details = {(o["org_unit_id"], o["kind"], o["period"]): o for o in body["obligations"]}
    assert len(details) == len(body["obligations"]) == 134
    assert (details[("cc", "party_lesson", "2018-Q2")]["held"], details[("cc", "party_lesson", "2018-Q2")]["missed"]) \
        == (2, False)
    assert details[("ca", "group_meeting", "2018-05")] == {"org_unit_id": "ca", "kind": "group_meeting",
                                                           "period": "2018-05", "period_end": "2018-05-31",
                                                           "held": 0, "missed": True}
    assert details[("ca", "member_appraisal", "2018")]["missed"] is False      # the year has not closed
    assert ("cc", "group_meeting", "2018-01") not in details
    assert ("cb", "party_lesson", "2018-01") in details and ("ca", "party_lesson", "2018-01") not in details


def test_compliance_missed_only_for_periods_closed_before_today(model):
    def june(today):
        return cells(reports.compliance(model, "ca", *JUNE, today, OBLIGATIONS_FROM))[("ca", "2018-06")]
    assert june(D("2018-06-30")) == (5, 4, 0)       # June has not closed on its last day
    assert june(D("2018-07-01")) == (5, 4, 1)
    assert june(D("2018-06-15")) == (5, 4, 0)
    # an undone obligation of a month not yet over is due, not missed
    july = reports.compliance(model, "wgz", D("2018-07-01"), D("2018-07-31"), TODAY, OBLIGATIONS_FROM)
    assert july["totals"] == {"due": 9, "held": 0, "missed": 0, "rate": 0.0}
    assert reports.compliance(model, "wgz", D("2018-07-01"), D("2018-07-31"), D("2018-08-01"),
                              OBLIGATIONS_FROM)["totals"]["missed"] == 9


def test_compliance_nothing_before_obligations_from(model):
    body = reports.compliance(model, "wgz", D("2017-10-01"), D("2018-03-31"), TODAY, OBLIGATIONS_FROM)
    assert sorted({r["month"] for r in body["rows"]}) == ["2018-01", "2018-02", "2018-03"]
    assert body["totals"]["due"] == (3 + 3 + 5) + (4 + 4 + 5) + (2 + 2 + 4)
    assert all(o["period_end"] >= "2018-01-01" for o in body["obligations"])
    # obligations from February: January owes nothing; Q1 (overlapping) still ends in March
    later = reports.compliance(model, "ca", D("2018-01-01"), D("2018-03-31"), TODAY, D("2018-02-01"))
    assert cells(later) == {("ca", "2018-02"): (3, 3, 0), ("ca", "2018-03"): (5, 5, 0)}
    # a period wholly before obligations begin
    before = reports.compliance(model, "wgz", D("2017-01-01"), D("2017-12-31"), TODAY, OBLIGATIONS_FROM)
    assert before["rows"] == [] and before["obligations"] == []
    assert before["totals"] == {"due": 0, "held": 0, "missed": 0, "rate": None}


def test_compliance_per_unit_rules_and_units_without_a_branch(model):
    # a zone's report covers only its branches; the zone itself owes nothing
    za = reports.compliance(model, "za", *H1, TODAY, OBLIGATIONS_FROM)
    assert za["branches"] == 2 and {r["org_unit_id"] for r in za["rows"]} == {"ca", "cb"}
    assert reports.compliance(model, "ga", *H1, TODAY, OBLIGATIONS_FROM)["branches"] == 0
    # a street-wide rule (no unit) under cb's own: cb's monthly 党课 stands, the others go quarterly -> yearly
    model2 = model_of(street() + [rule("party_lesson", "yearly")])
    body = cells(reports.compliance(model2, "wgz", *H1, TODAY, OBLIGATIONS_FROM))
    assert body[("ca", "2018-03")] == (4, 4, 0) and body[("cc", "2018-06")] == (3, 3, 0)
    assert body[("cb", "2018-01")] == (4, 3, 1)


# -- inspections ---------------------------------------------------------------------------------

INSPECTION_COLS = ("inspected_on", "score", "findings", "rectified", "open", "overdue")


def inspection_rows(body):
    return {(r["round_id"], r["org_unit_id"]): pick(r, *INSPECTION_COLS) for r in body["rows"]}


def zone_rows(body):
    return {z["zone_id"]: pick(z, "findings", "rectified", "open", "overdue") for z in body["zones"]}


def test_inspections_first_half(model):
    body = reports.inspections(model, "wgz", *H1)
    assert inspection_rows(body) == {
        ("r1", "ca"): ("2018-03-05", 85.0, 2, 1, 1, 1),      # f1 rectified, f7 overdue (verified only 07-05)
        ("r1", "cb"): ("2018-03-06", 78.5, 2, 0, 2, 1),      # f3 overdue, f4 due 07-31
        ("r1", "cc"): ("2018-03-07", 92.0, 3, 0, 3, 1),      # f5 reopened and overdue, f6 and f9 open
    }
    row = by(body["rows"], "round_id", "org_unit_id")[("r1", "cb")]
    assert pick(row, "round_name", "org_unit_name", "zone_id", "zone_name") == \
        ("2018年第一轮党建巡诊", "港东社区", "za", "东管区")
    assert zone_rows(body) == {"za": (4, 1, 3, 2), "zb": (3, 0, 3, 1)}
    assert body["totals"] == {"findings": 7, "rectified": 1, "open": 6, "overdue": 3,
                              "rounds": 1, "units_inspected": 3, "assessments": 3}


def test_inspections_the_year(model):
    body = reports.inspections(model, "wgz", *YEAR)
    assert inspection_rows(body) == {
        ("r1", "ca"): ("2018-03-05", 85.0, 2, 2, 0, 0),
        ("r1", "cb"): ("2018-03-06", 78.5, 2, 0, 2, 2),
        ("r1", "cc"): ("2018-03-07", 92.0, 3, 0, 3, 1),
        ("r2", "ca"): ("2018-09-05", 90.0, 1, 0, 1, 1),
    }
    assert zone_rows(body) == {"za": (5, 2, 3, 3), "zb": (3, 0, 3, 1)}
    assert body["totals"] == {"findings": 8, "rectified": 2, "open": 6, "overdue": 4,
                              "rounds": 2, "units_inspected": 3, "assessments": 4}
    for key in ("findings", "rectified", "open", "overdue"):
        assert sum(z[key] for z in body["zones"]) == body["totals"][key]
    # rectified as of `to`: f5 was verified on 04-25, reopened on 05-10
    april = reports.inspections(model, "cc", D("2018-01-01"), D("2018-04-30"))
    assert inspection_rows(april) == {("r1", "cc"): ("2018-03-07", 92.0, 3, 1, 2, 0)}


def test_inspections_by_round_and_findings_without_an_assessment_in_the_period(model):
    r2 = reports.inspections(model, "wgz", *YEAR, round_id="r2")
    assert inspection_rows(r2) == {("r2", "ca"): ("2018-09-05", 90.0, 1, 0, 1, 1)}
    assert r2["totals"] == {"findings": 1, "rectified": 0, "open": 1, "overdue": 1,
                            "rounds": 1, "units_inspected": 1, "assessments": 1}
    assert zone_rows(r2) == {"za": (1, 0, 1, 1)}
    # Q2: no assessment; units whose findings say something in Q2 still have
    # their row, with no date or score: f9 found in Q2, one verified in Q2,
    # and those still open (and overdue) on 06-30, as the summary counts them.
    q2 = reports.inspections(model, "wgz", *Q2)
    assert inspection_rows(q2) == {("r1", "ca"): (None, None, 0, 1, 1, 1), ("r1", "cb"): (None, None, 0, 0, 2, 1),
                                   ("r1", "cc"): (None, None, 1, 0, 3, 1)}
    assert q2["totals"] == {"findings": 1, "rectified": 1, "open": 6, "overdue": 3,
                            "rounds": 0, "units_inspected": 0, "assessments": 0}
    assert zone_rows(q2) == {"za": (0, 1, 3, 2), "zb": (1, 0, 3, 1)}
    for period in (Q2, H1, YEAR):       # the totals are the summary's figures, whatever the period
        totals, figures = reports.inspections(model, "wgz", *period)["totals"], model.summary("wgz", *period)
        assert {k: totals[k] for k in figures["inspections"]} == figures["inspections"]
    # a zone's report
    za = reports.inspections(model, "za", *H1)
    assert set(inspection_rows(za)) == {("r1", "ca"), ("r1", "cb")} and zone_rows(za) == {"za": (4, 1, 3, 2)}


# -- honours -------------------------------------------------------------------------------------

def test_honours_register(model):
    body = reports.honours(model, "wgz", *YEAR)
    cols = ("category_name", "nominee_kind", "nominee_id", "nominee_name", "org_unit_id", "external", "revoked_on")
    assert {r["honour_id"]: pick(r, *cols) for r in body["rows"]} == {
        "h1": ("先进个人", "individual", "a1", "张一", "ca", False, None),
        "h2": ("先进个人", "individual", "b1", "李一", "cb", False, None),
        "h3": ("先进集体", "collective", "cc", "晓望社区", "cc", False, None),
        "h4": ("先进集体", "collective", "ca", "青山社区", "ca", False, None),
        "h5": (SHANGHE, "collective", "wgz", "王哥庄街道", "wgz", True, None),
        "h6": ("先进个人", "individual", "c1", "王一", "cc", False, "2018-09-01"),    # listed, revoked
        "h8": ("先进个人", "individual", "b2", "李二", "cb", False, None),    # revoked only in 2019
    }
    h5 = by(body["rows"], "honour_id")["h5"]
    assert pick(h5, "awarded_on", "awarding_body", "org_unit_name") == ("2018-07-20", "青岛市委、市政府", "王哥庄街道")
    assert body["totals"] == {"honours": 6, "revoked": 1, "collective": 2, "individual": 3, "from_higher_bodies": 1}
    assert body["by_category"] == {SHANGHE: 1, "先进个人": 3, "先进集体": 2}
    # h8 revoked in 2019: listed as revoked there, out of the totals of a period that includes it
    both = reports.honours(model, "wgz", D("2017-01-01"), D("2019-12-31"))
    assert by(both["rows"], "honour_id")["h8"]["revoked_on"] == "2019-02-01"
    assert both["totals"] == {"honours": 6, "revoked": 2, "collective": 2, "individual": 3, "from_higher_bodies": 1}
    # a community's register
    cc = reports.honours(model, "cc", *YEAR)
    assert sorted(r["honour_id"] for r in cc["rows"]) == ["h3", "h6"]
    assert cc["totals"] == {"honours": 1, "revoked": 1, "collective": 1, "individual": 0, "from_higher_bodies": 0}


# -- cases ---------------------------------------------------------------------------------------

def case_rows(body):
    return [pick(r, "org_unit_id", "org_unit_name", "difficult_matters_solved", "disputes_mediated")
            for r in body["rows"]]


def test_cases_rows_add_up_with_a_row_for_cases_resolved_above_the_communities(model):
    body = reports.cases(model, "wgz", *JUNE)
    assert case_rows(body) == [
        ("ca", "青山社区", 1, 1),          # k2 was resolved in the grid
        ("cb", "港东社区", 0, 1),
        ("cc", "晓望社区", 1, 0),
        ("wgz", "王哥庄街道（社区以上）", 1, 1),     # k5 by the zone, k7 by the street
    ]
    assert body["totals"] == {"difficult_matters_solved": 3, "disputes_mediated": 3}
    za = reports.cases(model, "za", *JUNE)
    assert case_rows(za) == [("ca", "青山社区", 1, 1), ("cb", "港东社区", 0, 1), ("za", "东管区（社区以上）", 1, 0)]
    assert za["totals"] == {"difficult_matters_solved": 2, "disputes_mediated": 2}
    # no cases above the communities: no such row
    zb = reports.cases(model, "zb", *YEAR)
    assert case_rows(zb) == [("cc", "晓望社区", 1, 1)]
    for report in (body, za, zb, reports.cases(model, "wgz", *YEAR)):
        for key in ("difficult_matters_solved", "disputes_mediated"):
            assert sum(r[key] for r in report["rows"]) == report["totals"][key]
    assert reports.cases(model, "wgz", *YEAR)["totals"] == {"difficult_matters_solved": 3, "disputes_mediated": 4}


# -- order independence, late events, the summary ---------------------------------------------------

def all_reports(model: ReportModel) -> dict:
    out = {}
    for unit_id in ("wgz", "za", "zb", "ca", "cc"):
        for period in (JUNE_WEEKS, JUNE, H1, Q2, YEAR):
            for grouping in reports.DEED_GROUPINGS:
                out[(unit_id, period, "deeds", grouping)] = reports.deeds(model, unit_id, *period, by=grouping)
            out[(unit_id, period, "compliance")] = reports.compliance(model, unit_id, *period, TODAY,
                                                                       OBLIGATIONS_FROM)
            out[(unit_id, period, "inspections")] = reports.inspections(model, unit_id, *period)
            out[(unit_id, period, "honours")] = reports.honours(model, unit_id, *period)
            out[(unit_id, period, "cases")] = reports.cases(model, unit_id, *period)
    return out


def test_reports_are_the_same_whatever_the_order_and_repeats_of_the_events(model):
    events = street()
    expected = all_reports(model)
    rng = random.Random(2018)
    for _ in range(3):
        delivered = events + rng.sample(events, len(events) // 3)
        rng.shuffle(delivered)
        assert all_reports(model_of(delivered)) == expected


def test_a_late_deed_lands_in_its_week(model):
    before = reports.deeds(model, "wgz", *JUNE_WEEKS, by="week")
    late = model_of(street() + [deed("d14", "b2", "cb", "2018-06-05", occurred_at=datetime(2018, 8, 1, 10,
                                                                                              tzinfo=BUSINESS_TZ))])
    after = reports.deeds(late, "wgz", *JUNE_WEEKS, by="week")
    changed = {(r["week"], r["org_unit_id"]): pick(r, *WEEK_COLUMNS)
               for r, old in zip(after["rows"], before["rows"]) if r != old}
    assert changed == {("2018-W23", "cb"): (2, 2, 2, 0)}
    assert after["totals"] == {"deeds": 12}
    b2 = by(reports.deeds(late, "wgz", *JUNE_WEEKS, by="member")["rows"], "member_id")["b2"]
    assert pick(b2, "deeds", "weeks_with_deeds", "last_done_on") == (1, 1, "2018-06-05")


def test_the_summary_agrees_with_the_table_reports(model):
    for unit_id in ("wgz", "za", "zb", "ca", "cb", "cc"):
        for period in (JUNE_WEEKS, JUNE, H1, YEAR):
            summary = model.summary(unit_id, *period)
            deeds = reports.deeds(model, unit_id, *period)["totals"]
            assert (deeds["deeds"], deeds["members_with_deeds"], deeds["points"]) == (
                summary["deeds"]["total"], summary["deeds"]["members_with_deeds"], summary["deeds"]["points"])
            assert reports.deeds(model, unit_id, *period, by="week")["totals"]["deeds"] == summary["deeds"]["total"]
            assert reports.deeds(model, unit_id, *period, by="member")["totals"]["deeds"] == \
                summary["deeds"]["total"]
            honours = reports.honours(model, unit_id, *period)["totals"]
            assert (honours["collective"], honours["individual"]) == (summary["honours"]["collective"],
                                                                      summary["honours"]["individual"])
            assert reports.honours(model, unit_id, *period)["by_category"] == summary["honours"]["by_category"]
            assert reports.cases(model, unit_id, *period)["totals"] == summary["cases"]
        # the inspections report counts the findings found in the period: it agrees with the summary
        # for periods that begin before any finding (see the report for periods that do not)
        for period in (H1, YEAR):
            summary = model.summary(unit_id, *period)["inspections"]
            totals = reports.inspections(model, unit_id, *period)["totals"]
            assert {k: totals[k] for k in summary} == summary, (unit_id, period)
    year = model.summary("wgz", *YEAR)
    assert (year["deeds"]["total"], year["inspections"]["findings"], year["honours"]["collective"],
            year["cases"]["disputes_mediated"]) == (13, 8, 2, 4)


def test_a_deed_done_above_community_level_is_in_the_deeds_totals():
    events = street() + [member("z1", "赵一", "za"), deed("dz", "z1", "za", "2018-06-12")]
    late = model_of(events)
    summary = late.summary("wgz", *JUNE)["deeds"]
    assert summary == {"total": 14, "members_with_deeds": 9, "points": 18}
    for grouping in ("community", "week"):
        body = reports.deeds(late, "wgz", *JUNE, by=grouping)
        assert sum(r["deeds"] for r in body["rows"]) == body["totals"]["deeds"] == summary["total"], grouping
