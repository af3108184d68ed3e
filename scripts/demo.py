"""The demo data set: Wanggezhuang sub-district (王哥庄街道), through the public API.

Deterministic (seeded), so every `make run` shows the same figures. Every
write goes through HTTP with a client id, so running it twice changes
nothing. The names of zones and communities are illustrative.
"""
from __future__ import annotations

import random
import sys
from datetime import date, timedelta

import requests

from lianxin.config import auth_headers
from lianxin.personal_data import id_number_check_digit

STREET = "wgz"
ZONES = {  # zone id -> (name, [community names])
    "wgz-z1": ("王哥庄管区", ["王哥庄社区", "港东社区"]),
    "wgz-z2": ("晓望管区", ["晓望社区", "唐家庄社区"]),
    "wgz-z3": ("返岭管区", ["返岭社区", "黄山社区"]),
    "wgz-z4": ("会场管区", ["会场社区", "姜家社区"]),
    "wgz-z5": ("东台管区", ["东台社区", "西台社区"]),
    "wgz-z6": ("青山管区", ["青山社区", "雕龙嘴社区"]),
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "建国秀英玉兰志强海燕春梅立新桂芝德明淑珍庆华丽娟文军红霞国庆永平凤英洪涛晓东美玲家福"


class DemoError(RuntimeError):
    pass


def post(base: str, path: str, body: dict) -> dict:
    response = requests.post(f"{base}/api/v1{path}", json=body, timeout=30, headers=auth_headers())
    if response.status_code not in (200, 201):
        raise DemoError(f"POST {path} -> {response.status_code}: {response.text[:300]}")
    return response.json()


def _id_number(rng: random.Random, birth: date) -> str:
    first17 = f"370212{birth:%Y%m%d}{rng.randrange(100, 999)}"  # 370212: Laoshan district
    return first17 + id_number_check_digit(first17)


def members_for(community_id: str, rng: random.Random, count: int, branch_id: str | None = None) -> list[dict]:
    out = []
    for i in range(count):
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60))
        roll = rng.random()
        stage = ("full" if roll < 0.86 else "probationary" if roll < 0.91 else
                 "candidate" if roll < 0.94 else "activist" if roll < 0.97 else "applicant")
        body = {"id": f"{community_id}-m{i + 1:03d}",
                "name": rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2)))),
                "gender": "female" if rng.random() < 0.3 else "male",
                "birth_date": birth.isoformat(), "org_unit_id": community_id, "branch_id": branch_id, "stage": stage,
                "id_number": _id_number(rng, birth), "phone": f"13{rng.randrange(0, 10**9):09d}"}
        if stage == "full":
            earliest = max(birth.replace(year=birth.year + 18), date(1960, 1, 1))
            body["admitted_on"] = (earliest + timedelta(days=rng.randrange(0, max(1, (date(2016, 12, 31) - earliest).days)))).isoformat()
        elif stage == "probationary":
            body["admitted_on"] = (date(2018, 1, 1) + timedelta(days=rng.randrange(0, 300))).isoformat()
        else:
            body["stage_since"] = (date(2017, 1, 1) + timedelta(days=rng.randrange(0, 600))).isoformat()
        out.append(body)
    return out


def seed(base: str, progress=print, amqp_uri: str | None = None) -> dict:
    """The street, its Party organisations, members with their households, and
    a little history: activists becoming candidates, a transfer, a death."""
    rng = random.Random(2018)
    post(base, "/org-units", {"id": "laoshan", "name": "崂山区", "level": "district"})
    post(base, "/org-units", {"id": STREET, "name": "王哥庄街道", "level": "street", "parent_id": "laoshan"})
    post(base, "/party-orgs", {"id": "p-wgz", "name": "王哥庄街道党工委", "kind": "working_committee",
                               "org_unit_id": STREET})
    counts = {"zones": 0, "communities": 0, "members": 0, "household_links": 0}
    registered: list[dict] = []
    links: dict[str, int] = {}
    for zone_id, (zone_name, communities) in ZONES.items():
        post(base, "/org-units", {"id": zone_id, "name": zone_name, "level": "zone", "parent_id": STREET})
        counts["zones"] += 1
        for n, community_name in enumerate(communities, 1):
            community_id = f"{zone_id}-c{n}"
            post(base, "/org-units", {"id": community_id, "name": community_name, "level": "community",
                                      "parent_id": zone_id})
            branch_id = f"p-{community_id}"
            post(base, "/party-orgs", {"id": branch_id, "name": f"{community_name}党委", "kind": "committee",
                                       "parent_id": "p-wgz", "org_unit_id": community_id})
            counts["communities"] += 1
            for member in members_for(community_id, rng, rng.randrange(12, 25), branch_id):
                post(base, "/members", member)
                registered.append(member)
                counts["members"] += 1
                if member["stage"] in ("full", "probationary"):
                    links[member["id"]] = _link_households(base, rng, member)
        progress(f"  seeded {zone_name}: {counts['communities']} communities, {counts['members']} members so far")
    left, moved = _history(base, registered)
    # What the summary shows now: the deceased member no longer counts, and
    # the links of the deceased and the transferred member have ended.
    counts["members"] -= len(left)
    counts["household_links"] = sum(n for member_id, n in links.items() if member_id not in left + moved)
    counts.update(_june(base, rng, registered, progress))
    counts.update(_inspections(base, rng, progress))
    counts.update(_honours(base, rng, registered, left + moved, progress, amqp_uri))
    return counts


def _honours(base: str, rng: random.Random, members: list[dict], gone: list[str], progress,
             amqp_uri: str | None) -> dict:
    """表彰: a full nomination cycle for the 1 July 2018 commendations, and the
    summit honour the city gave the whole street (from a higher body, by intake)."""
    _create(base, "/honour-categories", {"id": "xjjt", "name": "先进集体", "nominee_kind": "collective",
                                         "awarding_body": "王哥庄街道党工委", "yearly_quota": 40})
    _create(base, "/honour-categories", {"id": "xjgr", "name": "先进个人", "nominee_kind": "individual",
                                         "awarding_body": "王哥庄街道党工委", "yearly_quota": 50,
                                         "exclude_overdue_rectification": False})
    communities = [f"{zone}-c{n}" for zone, (_, names) in ZONES.items() for n in range(1, len(names) + 1)]
    full = [m for m in members if m["stage"] == "full" and m["id"] not in gone and m["admitted_on"] < "2017-06-01"]
    nominees = [("xjjt", c) for c in communities[:4]] + [("xjgr", m["id"]) for m in rng.sample(full, 6)]
    awarded = {"collective": 0, "individual": 0}
    for n, (category, nominee) in enumerate(nominees):
        nomination = f"2018-{category}-{nominee}"
        _create(base, "/nominations", {"id": nomination, "category_id": category, "nominee_id": nominee,
                                       "year": 2018, "nominated_on": "2018-06-15", "reason": "峰会服务保障表现突出"})
        for decision, day in (("approve", "2018-06-18"), ("publicize", "2018-06-19")):
            _once(base, f"/nominations/{nomination}/decisions", {"decision": decision, "decided_on": day})
        if n == len(nominees) - 1:   # one objection upheld: rejected after the notice
            _once(base, f"/nominations/{nomination}/objections", {"raised_on": "2018-06-21", "by": "群众来信",
                                                                  "content": "反映其联户工作不到位"})
            _once(base, f"/nominations/{nomination}/decisions", {"decision": "reject", "decided_on": "2018-06-27",
                                                                 "note": "经核实，异议成立"})
            continue
        _once(base, f"/nominations/{nomination}/decisions", {"decision": "award", "decided_on": "2018-06-29"})
        awarded["collective" if category == "xjjt" else "individual"] += 1
    external = _publish_intake(amqp_uri, {"event_id": "7f1d2c9e-3b7a-4c55-9a1e-2018061000aa", "event_type": "honour_awarded",
                                "schema_version": 1, "occurred_at": "2018-06-30T10:00:00+08:00",
                                "source": "qingdao-municipal", "org_unit_id": STREET, "correlation_id": None,
                                "data": {"title": "上合组织青岛峰会服务保障工作先进集体", "nominee_kind": "collective",
                                         "nominee_id": STREET, "awarding_body": "青岛市委、市政府",
                                         "awarded_on": "2018-06-30"}})
    progress(f"  honours: {awarded['collective']} collectives and {awarded['individual']} individuals awarded, "
             f"1 nomination rejected{', and the summit honour by intake' if external else ''}")
    # The street's own 先进集体/先进个人; the city's honour is reported apart.
    return {"honours_collective": awarded["collective"], "honours_individual": awarded["individual"],
            "honours_from_higher_bodies": 1 if external else 0}


def _publish_intake(amqp_uri: str | None, envelope: dict) -> bool:
    """Publish one envelope to lianxin.intake, as another system would."""
    import os

    from lianxin.config import DEFAULT_AMQP_URI
    from lianxin.envelope import encode
    from lianxin.publisher import ConfirmPublisher, Outgoing
    from lianxin.topology import INTAKE_EXCHANGE

    publisher = ConfirmPublisher(amqp_uri or os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI)
    try:
        result = publisher.publish([Outgoing(INTAKE_EXCHANGE, envelope["event_type"], encode(envelope),
                                             envelope["event_id"])])
        return not result.failed
    finally:
        publisher.close()


CHECKLIST = [
    {"item": "组织生活会", "max_score": 20}, {"item": "民主评议党员", "max_score": 15},
    {"item": "三会一课", "max_score": 25, "weight": 2}, {"item": "主题党日", "max_score": 20},
    {"item": "扫黑除恶专项斗争", "max_score": 20},
]
INSPECTORS = ["insp-wang", "insp-li"]


def _inspections(base: str, rng: random.Random, progress) -> dict:
    """党建巡诊: two rounds over every community, findings in every state."""
    _create(base, "/checklists", {"id": "xz-2018", "name": "党建巡诊评分表", "items": CHECKLIST})
    communities = [f"{zone}-c{n}" for zone, (_, names) in ZONES.items() for n in range(1, len(names) + 1)]
    first = {"id": "xz-2018-1", "name": "2018年第一轮党建巡诊", "scope_org_unit_ids": list(ZONES),
             "checklist_id": "xz-2018", "starts_on": "2018-03-01", "ends_on": "2018-06-30",
             "inspectors": INSPECTORS}
    _create(base, "/inspection-rounds", first)
    findings = 0
    for n, community in enumerate(communities):
        scores = {i["item"]: round(i["max_score"] * rng.uniform(0.7, 1.0), 1) for i in CHECKLIST}
        problems = [{"id": f"{community}-xz1-f1", "item": "三会一课", "severity": "medium",
                     "description": "党课记录不完整"}] if n % 2 == 0 else []
        _create(base, "/inspection-rounds/xz-2018-1/assessments", {
            "id": f"{community}-xz1", "org_unit_id": community, "inspected_on": f"2018-04-{n + 2:02d}",
            "scores": scores, "findings": problems, "inspector": INSPECTORS[n % 2]})
        findings += len(problems)
    # The findings of round one, taken to different states.
    states = {"verified": 0, "submitted": 0, "in_progress": 0, "reopened": 0, "overdue": 0}
    for n, community in enumerate(communities[::2]):
        finding = f"{community}-xz1-f1"
        _once(base, f"/findings/{finding}/rectification", {"owner": f"{community}党委", "due_on": "2018-05-31",
                                                           "plan": "补齐党课记录，每季度至少一次党课"})
        stage = n % 5
        if stage == 4:
            states["overdue"] += 1      # planned, never done: overdue since June
            continue
        _once(base, f"/findings/{finding}/progress", {"started_on": "2018-04-20"})
        if stage == 3:
            states["in_progress"] += 1
            continue
        _once(base, f"/findings/{finding}/submission", {"submitted_on": "2018-05-20", "evidence": "党课记录簿照片"})
        if stage == 2:
            states["submitted"] += 1
            continue
        _once(base, f"/findings/{finding}/verification", {"verified_on": "2018-05-28", "passed": True,
                                                          "inspector": "insp-wang"})
        if stage == 1:                  # the follow-up visit found it back
            _once(base, f"/findings/{finding}/follow-ups", {"visited_on": "2018-09-15", "recurred": True,
                                                            "inspector": "insp-li", "note": "回头看：问题反弹"})
            states["reopened"] += 1
        else:
            states["verified"] += 1
    second = {**first, "id": "xz-2018-2", "name": "2018年第二轮党建巡诊", "starts_on": "2018-09-01",
              "ends_on": "2018-11-30", "follows_round_id": "xz-2018-1"}
    _create(base, "/inspection-rounds", second)
    for n, community in enumerate(communities):
        scores = {i["item"]: round(i["max_score"] * rng.uniform(0.8, 1.0), 1) for i in CHECKLIST}
        _create(base, "/inspection-rounds/xz-2018-2/assessments", {
            "id": f"{community}-xz2", "org_unit_id": community, "inspected_on": f"2018-10-{n + 8:02d}",
            "scores": scores, "inspector": INSPECTORS[n % 2]})
    _create(base, "/findings", {"id": "xz-2018-2-draft", "round_id": "xz-2018-2", "org_unit_id": communities[0],
                                "item": "主题党日", "severity": "low", "description": "主题党日签到表缺页",
                                "found_on": "2018-10-08"})
    progress(f"  inspections: 2 rounds over {len(communities)} communities, {findings} findings: {states}")
    return {"inspection_rounds": 2, "units_inspected": len(communities), "assessments": 2 * len(communities),
            "findings": findings, "rectified_2018": states["verified"], "finding_states": states}


JUNE = [date(2018, 6, d) for d in range(1, 31)]
CATEGORIES = ("帮扶困难户", "环境整治", "邻里调解", "代办事务", "护林防火", "助老助残")


def _june(base: str, rng: random.Random, members: list[dict], progress) -> dict:
    """A month of activity, June 2018 (the month of the SCO summit): every
    community's 三会一课, two lecture sessions at the street, a week-by-week
    trickle of small deeds, and a few cases taken on and resolved."""
    admitted = [m for m in members if m["stage"] in ("full", "probationary")
                and m.get("admitted_on", "9999") <= "2018-06-01"]
    by_community: dict[str, list[dict]] = {}
    for m in admitted:
        by_community.setdefault(m["org_unit_id"], []).append(m)
    held = 0
    for community, people in sorted(by_community.items()):
        full = [m["id"] for m in people if m["stage"] == "full"]
        everyone = [m["id"] for m in people]
        for kind, title, day in (("theme_day", "“不忘初心 牢记使命”主题党日", 1), ("committee_meeting", "支委会", 8),
                                 ("members_meeting", "第二季度党员大会", 15), ("party_lesson", "党课：学习十九大精神", 22)):
            activity_id = f"{community}-2018-06-{kind}"
            _create(base, "/activities", {"id": activity_id, "kind": kind, "title": title,
                                          "org_unit_id": community, "scheduled_for": f"2018-06-{day:02d}"})
            present = [m for m in everyone if rng.random() < 0.85] or everyone
            if kind == "members_meeting":  # make sure more than half of the voting members came
                present = sorted(set(present) | set(full[: len(full) // 2 + 1]))
            absent = [{"member_id": m, "reason": rng.choice(("外出务工", "生病住院", "年老体弱"))}
                      for m in everyone if m not in present]
            _once(base, f"/activities/{activity_id}/record", {"held_on": f"2018-06-{day:02d}",
                                                             "attendee_ids": present, "absentees": absent})
            held += 1
    street_people = [m for m in admitted]
    for n, (series, day, roles) in enumerate((("小城论剑", 12, ("department_head", "zone_secretary", "department_head")),
                                              ("乡村头雁自讲堂", 26, ("community_secretary", "community_secretary",
                                                                "residents_committee_director")))):
        activity_id = f"wgz-2018-06-{'xclj' if n == 0 else 'xctyzjt'}"
        _create(base, "/activities", {"id": activity_id, "kind": "lecture", "series": series,
                                      "title": f"{series} 2018年6月", "org_unit_id": STREET,
                                      "scheduled_for": f"2018-06-{day:02d}"})
        speakers = [{"member_id": m["id"], "name": m["name"], "role": role}
                    for m, role in zip(rng.sample(street_people, len(roles)), roles)]
        _once(base, f"/activities/{activity_id}/record", {
            "held_on": f"2018-06-{day:02d}", "attendee_ids": [s["member_id"] for s in speakers],
            "speakers": speakers})
        held += 1
    deeds = 0
    doers = set()
    for m in admitted:
        for week in range(4):
            if rng.random() < 0.8:  # one small deed a week, most weeks
                day = JUNE[week * 7 + rng.randrange(0, 7)]
                _create(base, "/deeds", {"id": f"{m['id']}-deed-2018-06-w{week + 1}", "member_id": m["id"],
                                         "household_id": f"{m['id']}-h1", "done_on": day.isoformat(),
                                         "category": rng.choice(CATEGORIES),
                                         "description": "为联系户办了一件小事"})
                deeds += 1
                doers.add(m["id"])
    progress(f"  June 2018: {held} activities held, {deeds} small deeds by {len(doers)} members")
    solved = mediated = 0
    for n, community in enumerate(sorted(by_community)[:6]):
        kind = "difficult_matter" if n % 2 == 0 else "dispute"
        case_id = f"{community}-case-2018-06"
        _create(base, "/cases", {"id": case_id, "kind": kind, "org_unit_id": community, "opened_on": "2018-06-04",
                                 "summary": "峰会期间环境整治" if kind == "difficult_matter" else "邻里宅基地纠纷",
                                 "team": "party_member" if kind == "difficult_matter" else None,
                                 "campaign": "小城冲锋号" if kind == "difficult_matter" else "法律门诊"})
        _once(base, f"/cases/{case_id}/resolution", {"resolved_on": "2018-06-20",
                                                     "outcome": "已解决" if kind == "difficult_matter" else "调解成功"})
        solved += kind == "difficult_matter"
        mediated += kind == "dispute"
    return {"june_activities": held, "june_deeds": deeds, "june_members_with_deeds": len(doers),
            "june_cases_solved": solved, "june_disputes_mediated": mediated}


def _create(base: str, path: str, body: dict) -> dict:
    return post(base, path, body)


def _link_households(base: str, rng: random.Random, member: dict) -> int:
    """党员联户: each admitted member looks after two to five neighbouring households."""
    links = rng.randrange(2, 6)
    for k in range(links):
        household = f"{member['id']}-h{k + 1}"
        post(base, "/household-links", {"id": f"link-{household}", "member_id": member["id"],
                                         "household_id": household,
                                         "address": f"{member['org_unit_id']} {rng.randrange(1, 300)}号",
                                         "linked_on": max("2018-01-15", member["admitted_on"])})
    return links


def _history(base: str, members: list[dict]) -> tuple[list[str], list[str]]:
    """A few dated changes, so member histories are not all flat.
    Returns (ids of members who left, ids of members who moved)."""
    activists = [m for m in members if m["stage"] == "activist" and m["stage_since"] <= "2017-06-30"]
    for m in activists[:3]:
        _once(base, f"/members/{m['id']}/stage-changes", {"stage": "candidate", "effective_on": "2018-07-01"})
    full = [m for m in members if m["stage"] == "full"]
    if len(full) > 2:
        _once(base, f"/members/{full[0]['id']}/status-changes",
              {"status": "deceased", "effective_on": "2018-09-10", "reason": "病故"})
        target = next(m["org_unit_id"] for m in reversed(full) if m["org_unit_id"] != full[1]["org_unit_id"])
        _once(base, f"/members/{full[1]['id']}/transfers",
              {"id": f"demo-transfer-{full[1]['id']}", "to_org_unit_id": target, "to_branch_id": f"p-{target}",
               "issued_on": "2018-10-08"})
        _once(base, f"/transfers/demo-transfer-{full[1]['id']}/receipt", {"received_on": "2018-10-20"})
        return [full[0]["id"]], [full[1]["id"]]
    return [], []


def _once(base: str, path: str, body: dict) -> None:
    """A change that a second run finds already made (409) is fine: seeding is idempotent."""
    response = requests.post(f"{base}/api/v1{path}", json=body, timeout=30, headers=auth_headers())
    if response.status_code not in (200, 201, 409):
        raise DemoError(f"POST {path} -> {response.status_code}: {response.text[:300]}")


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    print(seed(url))
