"""The summary told as Chinese prose, in the style of the source article
(王哥庄街道党建工作纪实, shared/seed).

Pure: `narrative(summary, org_unit_name)` reads the dict `ReportModel.summary`
returns and writes paragraphs separated by blank lines. Every number comes from
the summary; a sentence (or a clause) is written only for figures that are not
zero, so a quiet period gives a short text, never "0名" or "0起".

Stock figures (members, household links) are told "截至<to>"; flow figures
(deeds, activities, lectures, inspections, honours, cases) are told for the
period: "2018年" for a whole calendar year, "2017年至2018年" for whole years,
else "2018年6月1日至2018年6月30日".
"""
from __future__ import annotations

from datetime import date

_DIGITS = "零一二三四五六七八九"


def cn_count(n: int, limit: int = 10) -> str:
    """A small count as Chinese numerals, as one writes it before a measure
    word (2 is 两: 两轮, 两期); numbers above `limit` (or below 1) stay Arabic."""
    if not isinstance(n, int) or n < 1 or n > limit or n > 99:
        return str(n)
    if n == 2:
        return "两"
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("十" if tens == 1 else _DIGITS[tens] + "十") + (_DIGITS[ones] if ones else "")


def cn_date(day: date | str) -> str:
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{day.year}年{day.month}月{day.day}日"


def period_text(start: date | str, end: date | str) -> str:
    """'2018年' for a whole calendar year, '2017年至2018年' for whole years,
    '2018年6月1日' for one day, else '2018年6月1日至2018年6月30日'."""
    start = date.fromisoformat(start) if isinstance(start, str) else start
    end = date.fromisoformat(end) if isinstance(end, str) else end
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year <= end.year:
        return f"{start.year}年" if start.year == end.year else f"{start.year}年至{end.year}年"
    if start == end:
        return cn_date(start)
    return f"{cn_date(start)}至{cn_date(end)}"


def _join(parts: list[str], last: str = "和") -> str:
    """'A' / 'A和B' / 'A、B和C'."""
    if len(parts) <= 1:
        return "".join(parts)
    return "、".join(parts[:-1]) + last + parts[-1]


def _n(mapping: dict | None, key: str) -> int:
    value = (mapping or {}).get(key) or 0
    return value if isinstance(value, int) else 0


# -- members ----------------------------------------------------------------------------

# Not-yet-admitted stages, in pipeline order, as the article's readers know them.
_PIPELINE = (("applicant", "入党申请人"), ("activist", "入党积极分子"), ("candidate", "发展对象"))


def _members(summary: dict, org: str) -> str:
    members = summary.get("members") or {}
    by_stage = members.get("by_stage") or {}
    total = _n(members, "total")
    # party_members: 预备党员 and 正式党员; older summaries had only `total`.
    party = _n(members, "party_members") if "party_members" in members else total
    clauses = []
    if party:
        clause = f"共有党员{party}名"
        full, probationary = _n(by_stage, "full"), _n(by_stage, "probationary")
        if full and probationary:
            clause += f"，其中正式党员{full}名、预备党员{probationary}名"
        clauses.append(clause)
    pipeline = [f"{label}{_n(by_stage, stage)}名" for stage, label in _PIPELINE if _n(by_stage, stage)]
    if pipeline:
        clauses.append(("另有" if party else "共有") + "、".join(pipeline))
    links = _n(summary, "household_links")
    if links:
        clauses.append(f"建立党员联户关系{links}个")
    if not clauses:
        return ""
    return f"截至{cn_date(summary['to'])}，{org}" + "；".join(clauses) + "。"


# -- activities ---------------------------------------------------------------------------

# 三会一课 and the rest: meetings are 召开ed together, the others have their own verbs.
_MEETINGS = (("members_meeting", "党员大会"), ("committee_meeting", "支委会"), ("group_meeting", "党小组会"),
             ("org_life_meeting", "组织生活会"))
_OTHER_KINDS = (("party_lesson", "讲党课{n}次"), ("theme_day", "开展主题党日活动{n}次"),
                ("member_appraisal", "开展民主评议党员{n}次"), ("political_birthday", "为党员过政治生日{n}次"),
                ("other", "开展其他党建活动{n}次"))


def _activities(summary: dict, org: str, period: str) -> str:
    by_kind = (summary.get("activities") or {}).get("by_kind") or {}
    clauses = []
    meetings = [f"{label}{_n(by_kind, kind)}次" for kind, label in _MEETINGS if _n(by_kind, kind)]
    if meetings:
        clauses.append("召开" + "、".join(meetings))
    clauses += [text.format(n=_n(by_kind, kind)) for kind, text in _OTHER_KINDS if _n(by_kind, kind)]
    if _n(by_kind, "lecture") and not summary.get("lecture_series"):
        clauses.append(f"举办讲堂{_n(by_kind, 'lecture')}期")
    if not clauses:
        return ""
    return f"{period}，{org}各级党组织" + "，".join(clauses) + "。"


# -- lecture series ----------------------------------------------------------------------

# Street-level cadres are told together ("26个部门负责人和管区书记"), as the
# article does for 小城论剑; community-level speakers one count each
# ("34个党组织书记和4个居委会主任"), as it does for 乡村头雁自讲堂.
_STREET_ROLES = (("department_head", "部门负责人"), ("zone_secretary", "管区书记"))
_COMMUNITY_ROLES = ((("community_secretary", "party_secretary"), "个党组织书记"),
                    (("residents_committee_director",), "个居委会主任"))
_OTHER_ROLES = (("member", "名党员"), ("guest", "位嘉宾"))


def _speakers(entry: dict) -> tuple[str, bool]:
    """Who spoke, and whether they were all community-level speakers."""
    roles = dict(entry.get("speakers_by_role") or {})
    if not roles:       # no breakdown: fall back on the summary's two counts
        roles = {"community_secretary": _n(entry, "secretaries"),
                 "residents_committee_director": _n(entry, "directors")}
    street = [(role, label) for role, label in _STREET_ROLES if _n(roles, role)]
    groups = [f"{sum(_n(roles, r) for r, _ in street)}个" + _join([label for _, label in street])] if street else []
    community = [f"{n}{label}" for keys, label in _COMMUNITY_ROLES if (n := sum(_n(roles, k) for k in keys))]
    others = [f"{_n(roles, role)}{label}" for role, label in _OTHER_ROLES if _n(roles, role)]
    known = {r for r, _ in _STREET_ROLES} | {k for keys, _ in _COMMUNITY_ROLES for k in keys} | \
            {r for r, _ in _OTHER_ROLES}
    if rest := sum(_n(roles, r) for r in roles if r not in known):
        others.append(f"{rest}名其他人员")
    return _join(groups + community + others), bool(community) and not groups and not others


def _lecture_series(summary: dict, period: str) -> str:
    sentences = []
    for entry in summary.get("lecture_series") or ():
        sessions = _n(entry, "sessions")
        if not sessions:
            continue
        who, community = _speakers(entry)
        name = f"“{entry.get('series')}”"
        if not who:
            sentences.append(f"{name}已开展{sessions}期")
        elif community:
            sentences.append(f"{name}活动已开展{sessions}期，{who}分享了社区工作中的经验和感受")
        else:
            sentences.append(f"{name}已开展{sessions}期，有{who}进行了交流发言")
    if not sentences:
        return ""
    return f"{period}，" + "；".join(sentences) + "。"


# -- deeds, inspections, honours, cases ------------------------------------------------------

def _deeds(summary: dict, org: str, period: str) -> str:
    deeds = summary.get("deeds") or {}
    total = _n(deeds, "total")
    if not total:
        return ""
    who = f"{_n(deeds, 'members_with_deeds')}名社区党员，" if _n(deeds, "members_with_deeds") else "社区党员"
    text = f"{period}，{org}{who}共为群众办了{total}件小事、实事"
    if _n(deeds, "points"):
        text += f"，累计积分{_n(deeds, 'points')}分"
    return text + "。"


def _inspections(summary: dict, org: str, period: str) -> str:
    figures = summary.get("inspections") or {}
    clauses = []
    units, rounds = _n(figures, "units_inspected"), _n(figures, "rounds")
    if units and rounds:
        clauses.append(f"已对{org}{units}个社区巡查了{cn_count(rounds)}轮")
    findings, rectified, overdue = (_n(figures, k) for k in ("findings", "rectified", "overdue"))
    if findings:
        clauses.append(f"发现问题{findings}个")
    if rectified:
        clauses.append(f"已整改到位{rectified}个")
    if overdue:
        clauses.append(f"尚有{overdue}个问题逾期未整改")
    if not clauses:
        return ""
    return f"{period}，党建“巡诊”行动" + "，".join(clauses) + "。"


def _honours_and_matters(summary: dict, org: str, period: str) -> str:
    honours = summary.get("honours") or {}
    higher = [h for h in honours.get("from_higher_bodies") or () if _n(h, "count")]
    clauses = []
    # The unit's own 先进集体/先进个人; those from higher bodies are told apart below.
    counts = [f"{_n(honours, kind)}个{label}" for kind, label in (("collective", "先进集体"),
                                                                   ("individual", "先进个人"))
              if _n(honours, kind)]
    if counts:
        clauses.append("涌现出了" + "、".join(counts))
    solved = _n(summary.get("cases"), "difficult_matters_solved")
    if solved:
        clauses.append(f"解决了{solved}件实事难事")
    sentences = [f"{period}，{org}各级党组织" + "，".join(clauses) + "。"] if clauses else []
    # Named honours of the unit's own beyond the plain 先进集体/先进个人 (e.g. 王哥庄好婆婆).
    from_higher = {h.get("title") for h in higher}
    named = [f"“{name}”{n}个" for name, n in (honours.get("by_category") or {}).items()
             if n and name not in ("先进集体", "先进个人") and name not in from_higher]
    if named:
        sentences.append("其中，获评" + "、".join(named) + "。")
    # As the article tells the SCO summit honour: 获得青岛市委、市政府授予的“…”光荣称号.
    for h in higher:
        times = f"{_n(h, 'count')}个" if _n(h, "count") > 1 else ""
        sentences.append(f"{org}获得{h.get('awarding_body')}授予的“{h.get('title')}”光荣称号{times}。")
    return "".join(sentences)


def _disputes(summary: dict, org: str, period: str) -> str:
    mediated = _n(summary.get("cases"), "disputes_mediated")
    return f"{period}，{org}积极参与调处化解矛盾纠纷{mediated}起。" if mediated else ""


def narrative(summary: dict, org_unit_name: str) -> str:
    org = org_unit_name or summary.get("org_unit_id") or ""
    period = period_text(summary["from"], summary["to"])
    paragraphs = [
        _members(summary, org),
        _activities(summary, org, period),
        _lecture_series(summary, period),
        _deeds(summary, org, period),
        _inspections(summary, org, period),
        _honours_and_matters(summary, org, period),
        _disputes(summary, org, period),
    ]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:
        return f"{period}，{org}暂无可报告的党建工作数据。"
    return "\n\n".join(paragraphs)
