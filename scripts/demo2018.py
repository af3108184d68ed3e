"""The 2018 acceptance data set: a year of Wanggezhuang (王哥庄街道) that
reproduces every figure of the source article (shared/seed), loaded through
the public interfaces only: HTTP for the structure and the decisions, the
intake exchange (`lianxin.intake`) for the bulk.

    python -m scripts.demo2018 [--base URL] [--amqp URI]     (make demo-2018)

What the summary of `wgz` for 2018 then says (the article's figures):
6 zones and 34 communities, each with its Party organisation; 2,095 Party
members on 31 December, and 2,095 members who did 23,561 small deeds;
小城论剑 8 sessions with 26 department heads and zone secretaries;
乡村头雁自讲堂 6 sessions with 34 community Party secretaries and 4
residents' committee directors; 党建巡诊 two rounds over all 34 communities;
32 advanced collectives and 43 advanced individuals of the street's own, the
summit honour from 青岛市委、市政府 (by intake), 1,350 difficult matters solved
and 125 disputes mediated. Around them, a realistic year: 三会一课 in every
community branch (a few months missed), household links, political
birthdays, findings with rectification, deaths, transfers and admissions.

It is a superset of the `make run` demo (scripts/demo.py): it seeds the demo
first (idempotent, so a no-op on a running `make run`) and adds the rest,
knowing exactly what the demo holds (`record_demo` replays the demo
offline). So it gives the same figures on a fresh system and on one that
`make run` started.

Deterministic (seeded random, fixed ids and event ids): running it twice
changes nothing. It waits until the reports have applied everything and
prints the summary's headline figures.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from unittest import mock

import requests

from lianxin.config import auth_headers
from scripts import demo

STREET = demo.STREET
YEAR = 2018
JAN1, DEC31 = date(YEAR, 1, 1), date(YEAR, 12, 31)

# The article's figures: what the summary of the street for 2018 must show.
ARTICLE = {
    "zones": 6, "communities": 34, "party_members": 2095, "members_with_deeds": 2095, "deeds": 23561,
    "xclj_sessions": 8, "xclj_speakers": 26, "xctyzjt_sessions": 6, "secretaries": 34, "directors": 4,
    "units_inspected": 34, "rounds": 2, "collective": 32, "individual": 43,
    "difficult_matters_solved": 1350, "disputes_mediated": 125,
}
XCLJ, XCTYZJT = "小城论剑", "乡村头雁自讲堂"
SUMMIT_HONOUR = "上合组织青岛峰会服务保障工作先进集体"
SUMMIT_BODY = "青岛市委、市政府"

# The demo's two communities per zone, then the rest of the 34 (names illustrative).
MORE_COMMUNITIES = {
    "wgz-z1": ["港西社区", "西山社区", "南窑社区", "北窑社区"],
    "wgz-z2": ["东山社区", "泉心河社区", "峰山西社区", "庙石社区"],
    "wgz-z3": ["长岭社区", "桑园社区", "大桥社区"],
    "wgz-z4": ["曲家庄社区", "解家河社区", "河西社区", "段家埠社区"],
    "wgz-z5": ["凉泉社区", "上苑社区", "下苑社区"],
    "wgz-z6": ["黄山口社区", "仰口社区", "港南社区", "太平社区"],
}
PARTY_ORG_NAMES = {"committee": "党委", "general_branch": "党总支", "branch": "党支部"}
# Street cadres who spoke at 小城论剑: they belong to the street organ, not to
# a community, so they are named speakers (not registered community members).
DEPARTMENTS = ("党政办公室", "党建工作办公室", "经济发展办公室", "财政审计办公室", "社会事业办公室",
               "城市管理办公室", "安全生产监督管理办公室", "综合执法中队", "规划建设办公室", "农业服务中心",
               "社会治安综合治理办公室", "信访办公室", "劳动保障服务中心", "文化站", "环境保护办公室",
               "民政办公室", "招商服务中心", "统计站")
ABSENCE_REASONS = ("外出务工", "生病住院", "年老体弱", "出海捕鱼", "在外地子女家", "因公出差")
# Event ids are uuid5 of this namespace and the fact, so a second run sends the same ids.
NS = uuid.UUID("5f0c1e52-7a9b-4d33-8a0e-201812310000")


class SeedError(RuntimeError):
    pass


# -- the people ---------------------------------------------------------------------------

@dataclass
class Person:
    """A member as the generator knows them: registration and 2018's changes."""
    id: str
    name: str
    unit: str                       # unit at registration
    birth: date
    stage: str                      # stage at registration
    admitted_on: date | None
    stage_since: date | None
    gender: str = "male"
    source: str = "2018"            # "demo" or "2018"
    role: str | None = None         # secretary | director | committee
    changes: list = field(default_factory=list)   # (stage, effective_on) in 2018
    left: tuple | None = None       # (status, effective_on, reason)
    moved: tuple | None = None      # (to unit, issued_on, received_on)
    households: list = field(default_factory=list)  # (household id, linked_on)
    body: dict | None = None        # the registration as sent

    @property
    def starts(self) -> date:
        """From when the member counts (admission, or the registered stage's date)."""
        return self.admitted_on or self.stage_since

    def admitted_by(self, day: date) -> bool:
        """A Party member (probationary or full) on that day?"""
        if self.admitted_on is not None and self.admitted_on <= day:
            return True
        return any(stage == "probationary" and on <= day for stage, on in self.changes)

    @property
    def party_from(self) -> date | None:
        if self.admitted_on is not None:
            return self.admitted_on
        return next((on for stage, on in self.changes if stage == "probationary"), None)

    def stage_on(self, day: date) -> str:
        """As membership counts it: a member registered as full was probationary
        for the year after admission; then the stage changes in date order."""
        stage = self.stage
        if self.stage == "full" and self.admitted_on and day < _years_after(self.admitted_on, 1):
            stage = "probationary"
        for s, on in self.changes:
            if on <= day:
                stage = s
        return stage

    def active_on(self, day: date) -> bool:
        return self.starts <= day and (self.left is None or day < self.left[1])

    def unit_on(self, day: date) -> str:
        return self.moved[0] if self.moved and self.moved[2] <= day else self.unit

    def party_in(self, unit: str, day: date) -> bool:
        return self.active_on(day) and self.admitted_by(day) and self.unit_on(day) == unit

    def last_day(self) -> date:
        """The last day of 2018 the member is still a member."""
        return self.left[1] - timedelta(days=1) if self.left else DEC31

    def household_on(self, day: date) -> str | None:
        """A household the member looks after on that day, if any."""
        ends = [self.left[1] if self.left else None, self.moved[2] if self.moved else None]
        end = min([d for d in ends if d is not None], default=date.max)
        linked = [h for h, on in self.households if on <= day < end]
        return linked[0] if linked else None


# -- what the demo holds (scripts/demo.py, replayed offline) ---------------------------------

@dataclass
class DemoState:
    counts: dict
    calls: list                      # (path, body) in order
    members: dict                    # id -> Person
    deeds: list                      # bodies
    activities: set                  # (community, kind, month)
    lecture_speakers: dict           # series -> [(member id, role)]
    awarded: set                     # nominee ids awarded or rejected in the demo's honours
    communities: list


def record_demo() -> DemoState:
    """What `demo.seed` writes, without a system: its HTTP bodies, recorded.

    The demo is deterministic, so this is exactly what a real run sends (and
    what a second run finds there already)."""
    calls: list = []

    class _Answer:
        status_code = 201
        text = ""

        @staticmethod
        def json():
            return {}

    def fake_post(url, json=None, timeout=None, headers=None):
        calls.append((url.split("/api/v1", 1)[1], json))
        return _Answer()

    with mock.patch.object(demo.requests, "post", fake_post), \
            mock.patch.object(demo, "_publish_intake", lambda uri, env: calls.append(("intake", env)) or True):
        counts = demo.seed("http://demo.invalid", progress=lambda line: None)

    members: dict[str, Person] = {}
    for path, body in calls:
        if path == "/members":
            members[body["id"]] = Person(
                body["id"], body["name"], body["org_unit_id"], date.fromisoformat(body["birth_date"]), body["stage"],
                _day(body.get("admitted_on")), _day(body.get("stage_since")), body["gender"], "demo", body=body)
    for path, body in calls:
        parts = path.split("/")
        if path == "/household-links":
            members[body["member_id"]].households.append((body["household_id"], date.fromisoformat(body["linked_on"])))
        elif path.endswith("/stage-changes"):
            members[parts[2]].changes.append((body["stage"], date.fromisoformat(body["effective_on"])))
        elif path.endswith("/status-changes"):
            members[parts[2]].left = (body["status"], date.fromisoformat(body["effective_on"]), body["reason"])
        elif path.startswith("/members/") and path.endswith("/transfers"):
            receipt = next(date.fromisoformat(b["received_on"]) for p, b in calls
                           if p == f"/transfers/{body['id']}/receipt")
            members[parts[2]].moved = (body["to_org_unit_id"], date.fromisoformat(body["issued_on"]), receipt)
    activities = set()
    speakers: dict[str, list] = {}
    for path, body in calls:
        if path == "/activities":
            activities.add((body["org_unit_id"], body["kind"], int(body["scheduled_for"][5:7])))
            if body.get("series"):
                record = next(b for p, b in calls if p == f"/activities/{body['id']}/record")
                speakers.setdefault(body["series"], []).extend((s["member_id"], s["role"]) for s in record["speakers"])
    awarded = {b["nominee_id"] for p, b in calls if p == "/nominations"}
    communities = [b["id"] for p, b in calls if p == "/org-units" and b["level"] == "community"]
    return DemoState(counts, calls, members, [b for p, b in calls if p == "/deeds"], activities, speakers,
                     awarded, communities)


def _day(value) -> date | None:
    return date.fromisoformat(value) if value else None


# -- the plan: everything the year holds, decided before anything is sent ----------------------

@dataclass
class Plan:
    communities: list = field(default_factory=list)       # (id, name, zone id)
    party_orgs: list = field(default_factory=list)        # bodies
    people: dict = field(default_factory=dict)            # id -> Person (demo's and ours)
    secretaries: dict = field(default_factory=dict)       # community -> member id
    directors: dict = field(default_factory=dict)         # community -> member id
    committees: dict = field(default_factory=dict)        # community -> [member ids]
    intake: dict = field(default_factory=dict)            # step -> [envelopes]
    http: dict = field(default_factory=dict)              # step -> [(method, path, body, tolerate 409)]
    expected: dict = field(default_factory=dict)


class Planner:
    def __init__(self, state: DemoState, seed: int = 20181231):
        self.state = state
        self.rng = random.Random(seed)
        self.plan = Plan()
        self.plan.people = {pid: p for pid, p in state.members.items()}
        self.names: set[str] = set()
        self.held: set[tuple] = set(state.activities)      # (community, kind, month) held in 2018

    # -- helpers ----------------------------------------------------------------------
    def name(self) -> str:
        rng = self.rng
        return rng.choice(demo.SURNAMES) + "".join(rng.sample(demo.GIVEN, rng.choice((1, 2, 2))))

    def unique_name(self) -> str:
        while True:
            candidate = self.name()
            if candidate not in self.names:
                self.names.add(candidate)
                return candidate

    def day_between(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randrange(0, max(1, (end - start).days + 1)))

    def envelope(self, event_type: str, data: dict, key: str, unit: str | None, on: date,
                 source: str) -> dict:
        return {"event_id": str(uuid.uuid5(NS, f"{event_type}:{key}")), "event_type": event_type,
                "schema_version": 1, "occurred_at": f"{on.isoformat()}T09:30:00+08:00", "source": source,
                "org_unit_id": unit, "correlation_id": None, "data": data}

    def send(self, step: str, envelope: dict) -> None:
        self.plan.intake.setdefault(step, []).append(envelope)

    def call(self, step: str, path: str, body: dict, tolerate: bool = False) -> None:
        self.plan.http.setdefault(step, []).append((path, body, tolerate))

    # -- the whole year --------------------------------------------------------------------
    def build(self) -> Plan:
        self.tree()
        self.members()
        self.links()
        self.history()
        self.meetings()
        self.lectures()
        self.deeds()
        self.cases()
        self.inspections()
        self.honours()
        self.expectations()
        return self.plan

    # -- the tree ----------------------------------------------------------------------------
    def tree(self) -> None:
        plan, rng = self.plan, self.rng
        for zone, (_, names) in demo.ZONES.items():
            for n, name in enumerate(names, 1):
                plan.communities.append((f"{zone}-c{n}", name, zone))
            for n, name in enumerate(MORE_COMMUNITIES[zone], len(names) + 1):
                plan.communities.append((f"{zone}-c{n}", name, zone))
        assert len(plan.communities) == ARTICLE["communities"]
        # Party members per community on 31 December: 2,095 in all.
        weights = [rng.uniform(0.6, 1.7) for _ in plan.communities]
        total = ARTICLE["party_members"]
        sizes = [int(total * w / sum(weights)) for w in weights]
        for i in sorted(range(len(sizes)), key=lambda i: -weights[i])[: total - sum(sizes)]:
            sizes[i] += 1
        self.size = {c[0]: s for c, s in zip(plan.communities, sizes)}
        demo_ids = set(self.state.communities)
        for community, name, zone in plan.communities:
            # 党委 for the large communities, 党总支 for the middle ones, else 党支部.
            kind = ("committee" if self.size[community] >= 80
                    else "general_branch" if self.size[community] >= 50 else "branch")
            if community in demo_ids:        # the demo made them, each with its 党委
                continue
            self.call("structure", "/org-units", {"id": community, "name": name, "level": "community",
                                                  "parent_id": zone})
            plan.party_orgs.append({"id": f"p-{community}", "name": f"{name}{PARTY_ORG_NAMES[kind]}", "kind": kind,
                                    "parent_id": "p-wgz", "org_unit_id": community})
            self.call("structure", "/party-orgs", plan.party_orgs[-1])

    # -- members ------------------------------------------------------------------------------
    def _person(self, community: str, n: int, stage: str, age: tuple[int, int], admitted: tuple[date, date] | None,
                since: tuple[date, date] | None = None) -> Person:
        rng = self.rng
        birth = date(YEAR - rng.randint(*age), 1, 1) + timedelta(days=rng.randrange(0, 365))
        admitted_on = stage_since = None
        if admitted:
            earliest = max(admitted[0], _years_after(birth, 19))
            admitted_on = self.day_between(earliest, max(earliest, admitted[1]))
        else:
            earliest = max(since[0], _years_after(birth, 18))
            stage_since = self.day_between(earliest, max(earliest, since[1]))
        person = Person(f"{community}-m{n:03d}", self.name(), community, birth, stage, admitted_on, stage_since,
                        "female" if rng.random() < 0.28 else "male")
        self.plan.people[person.id] = person
        return person

    def members(self) -> None:
        """Each community topped up to its size, with 2018's admissions, deaths and the pipeline."""
        rng, plan = self.rng, self.plan
        demo_people = list(plan.people.values())
        old = (date(1950, 1, 1), date(2016, 12, 31))
        for community, _, _ in plan.communities:
            from_demo = [p for p in demo_people if p.admitted_by(DEC31) and p.active_on(DEC31)
                         and p.unit_on(DEC31) == community]
            ours = self.size[community] - len(from_demo)
            assert ours >= 15, (community, ours)
            n = 101 if from_demo or community in self.state.communities else 1
            made: list[Person] = []

            def make(stage, age, admitted=None, since=None):
                nonlocal n
                person = self._person(community, n, stage, age, admitted, since)
                n += 1
                made.append(person)
                return person

            # Officers first: the secretary and the committee (支委), then the rest.
            secretary = make("full", (42, 62), (date(1985, 1, 1), date(2008, 12, 31)))
            secretary.role = "secretary"
            committee = [make("full", (35, 66), (date(1985, 1, 1), date(2012, 12, 31))) for _ in range(rng.randint(3, 5))]
            for p in committee:
                p.role = "committee"
            promoted = max(0, round(ours * rng.uniform(0.008, 0.025)))     # 2018 admissions (七一)
            new_probationary = rng.choice((0, 0, 1))                        # admitted in 2018, registered so
            prob_2017 = max(1, round(ours * rng.uniform(0.015, 0.035)))    # admitted 2017, full in 2018
            for _ in range(promoted):
                person = make("candidate", (22, 45), since=(date(2017, 1, 1), date(2017, 6, 30)))
                person.changes.append(("probationary", date(2018, 6, 28) if rng.random() < 0.7
                                       else date(2018, 12, rng.randint(3, 20))))
            for _ in range(new_probationary):
                make("probationary", (22, 40), (date(2018, 3, 1), date(2018, 11, 30)))
            for _ in range(prob_2017):
                person = make("probationary", (22, 45), (date(2017, 1, 10), date(2017, 12, 20)))
                person.changes.append(("full", person.admitted_on.replace(year=2018)))
            while len(made) < ours:
                roll = rng.random()
                age = (70, 92) if roll < 0.3 else (55, 70) if roll < 0.65 else (40, 55) if roll < 0.88 else (25, 40)
                make("full", age, old if age[0] >= 40 else (date(2000, 1, 1), date(2016, 12, 31)))
            # Who left during 2018 (beyond the size on 31 December): deaths among
            # the old, and now and then one who moved away for good.
            for _ in range(rng.choice((0, 1, 1, 1, 2))):
                person = make("full", (72, 90), old)
                person.left = ("deceased", self.day_between(date(2018, 1, 20), date(2018, 12, 10)), "病故")
            if rng.random() < 0.15:
                extra = make("full", (28, 45), (date(2005, 1, 1), date(2015, 12, 31)))
                extra.left = ("transferred_out", self.day_between(date(2018, 3, 1), date(2018, 11, 30)),
                              "组织关系转往外市（随子女迁居）")
            # The pipeline: applicants, activists and candidates (members, not yet Party members).
            for _ in range(rng.randint(1, 3)):
                make("applicant", (19, 35), since=(date(2017, 3, 1), date(2018, 11, 30)))
            for _ in range(rng.randint(1, 3)):
                person = make("activist", (20, 38), since=(date(2016, 3, 1), date(2018, 5, 31)))
                if person.stage_since <= date(2017, 5, 1) and rng.random() < 0.6:
                    person.changes.append(("candidate", max(date(2018, 6, 1),
                                                            _years_after(person.stage_since, 1) + timedelta(days=1))))
            if rng.random() < 0.5:
                make("candidate", (21, 40), since=(date(2017, 7, 1), date(2018, 10, 31)))
            plan.secretaries.setdefault(community, secretary.id)
            plan.committees[community] = [secretary.id] + [p.id for p in committee]
        # The demo's two 乡村头雁 secretaries are their communities' secretaries.
        for member_id, role in self.state.lecture_speakers[XCTYZJT]:
            unit = plan.people[member_id].unit
            if role == "community_secretary":
                plan.secretaries[unit] = member_id
            else:
                plan.directors[unit] = member_id
        # Three more residents' committee directors who are not the secretary (not 一肩挑).
        others = [c for c, _, _ in plan.communities if c not in plan.directors and c not in self.state.communities]
        for community in rng.sample(others, ARTICLE["directors"] - len(plan.directors)):
            candidate = plan.committees[community][1]
            plan.directors[community] = candidate
            plan.people[candidate].role = "director"
        # A few moves inside the street (marriage, new housing): links end, the count stays.
        movers = rng.sample(sorted(p.id for p in plan.people.values() if p.source == "2018" and p.role is None
                                   and p.stage == "full" and p.left is None and not p.changes
                                   and p.birth > date(1960, 1, 1)), 6)
        communities = [c for c, _, _ in plan.communities]
        for pid in movers:
            person = plan.people[pid]
            target = rng.choice([c for c in communities if c != person.unit])
            issued = self.day_between(date(2018, 3, 1), date(2018, 10, 31))
            person.moved = (target, issued, issued + timedelta(days=rng.randint(5, 25)))
        for person in plan.people.values():
            if person.source != "2018":
                continue
            body = {"id": person.id, "name": person.name, "gender": person.gender,
                    "birth_date": person.birth.isoformat(), "org_unit_id": person.unit,
                    "branch_id": f"p-{person.unit}", "stage": person.stage,
                    "id_number": demo._id_number(rng, person.birth), "phone": f"13{rng.randrange(0, 10**9):09d}"}
            if person.admitted_on:
                body["admitted_on"] = person.admitted_on.isoformat()
            else:
                body["stage_since"] = person.stage_since.isoformat()
            person.body = body
            self.send("members", self.envelope("member_registered", body, person.id, person.unit,
                                               person.starts, "national-member-system"))

    def links(self) -> None:
        """党员联户: each Party member looks after one to four neighbouring households."""
        rng = self.rng
        for person in self.plan.people.values():
            if person.source != "2018" or person.party_from is None:
                continue
            start = max(person.party_from, date(2017, 3, 1)) if person.admitted_on else \
                person.party_from + timedelta(days=10)
            for k in range(rng.choice((1, 2, 2, 3, 3, 4))):
                household = f"{person.id}-h{k + 1}"
                linked_on = self.day_between(start, max(start, date(2018, 2, 28))) if start < date(2018, 3, 1) \
                    else start
                person.households.append((household, linked_on))
                self.send("links", self.envelope("household_linked", {
                    "id": f"link-{household}", "member_id": person.id, "household_id": household,
                    "address": f"{self._name_of(person.unit)}{rng.randrange(1, 400)}号", "linked_on": linked_on.isoformat()},
                    household, person.unit, linked_on, "grid-app"))

    def _name_of(self, community: str) -> str:
        return next(name for c, name, _ in self.plan.communities if c == community)

    def history(self) -> None:
        """2018's stage changes (intake) and departures and moves (HTTP)."""
        for person in self.plan.people.values():
            if person.source != "2018":
                continue
            for stage, on in person.changes:
                self.send("stages", self.envelope("member_stage_changed", {
                    "member_id": person.id, "stage": stage, "effective_on": on.isoformat()},
                    f"{person.id}:{stage}", person.unit, on, "national-member-system"))
            if person.left:
                status, on, reason = person.left
                self.call("history", f"/members/{person.id}/status-changes",
                          {"status": status, "effective_on": on.isoformat(), "reason": reason}, tolerate=True)
            if person.moved:
                target, issued, received = person.moved
                transfer = f"t2018-{person.id}"
                self.call("history", f"/members/{person.id}/transfers", {
                    "id": transfer, "to_org_unit_id": target, "to_branch_id": f"p-{target}",
                    "issued_on": issued.isoformat()}, tolerate=True)
                self.call("history", f"/transfers/{transfer}/receipt", {"received_on": received.isoformat()},
                          tolerate=True)

    # -- 三会一课 and the rest ---------------------------------------------------------------------
    def meetings(self) -> None:
        rng, plan = self.rng, self.plan
        kinds = {"theme_day": (1, 6, "主题党日"), "committee_meeting": (7, 11, "支委会"),
                 "group_meeting": (12, 17, "党小组会")}
        themes = ["学习贯彻党的十九大精神", "“不忘初心 牢记使命”", "重温入党誓词", "学习新修订的党章",
                  "乡村振兴大讨论", "上合峰会服务保障动员", "扫黑除恶专项斗争学习", "“两担当两作为”",
                  "护林防火志愿服务", "纪念改革开放40周年", "民情大走访", "岁末走访困难党员"]
        lessons = ["党课：学习十九大报告", "党课：新时代党员的初心和使命", "党课：乡村振兴战略",
                   "党课：党的纪律和规矩"]
        demo_held = self.state.activities
        # A few months missed (Spring Festival, the summit, the busy tea season).
        monthly = [(c, k, m) for c, _, _ in plan.communities for k in kinds for m in range(1, 13)]
        self.missed = set(rng.sample([x for x in monthly if x[2] in (2, 5, 6, 8, 10)], 14))
        self.missed.add((plan.communities[-1][0], "party_lesson", 8))    # no Party lesson in Q3
        self.missed.add((plan.communities[7][0], "party_lesson", 8))
        count = 0
        for community, _, _ in plan.communities:
            offset = rng.randint(0, 3)
            for month in range(1, 13):
                items = [(kind, min(28, rng.randint(lo, hi) + offset), label) for kind, (lo, hi, label) in kinds.items()]
                if month in (3, 6, 9, 12):
                    items.append(("members_meeting", rng.randint(18, 23), f"第{'一二三四'[month // 3 - 1]}季度党员大会"))
                if month in (2, 5, 8, 11):
                    items.append(("party_lesson", rng.randint(20, 27), lessons[month // 3]))
                if month == 1:
                    items.append(("org_life_meeting", rng.randint(22, 26), "2017年度组织生活会"))
                    items.append(("member_appraisal", 29, "2017年度民主评议党员"))
                for kind, day, label in items:
                    if (community, kind, month) in self.missed:
                        continue
                    if community in self.state.communities and (month == 6 and (community, kind, 6) in demo_held
                                                                 or kind in ("members_meeting", "party_lesson")
                                                                 and month in (4, 5, 6)):
                        continue   # the demo holds June's (and the second quarter's) already
                    held_on = date(YEAR, month, min(day, 28))
                    title = f"{themes[month - 1]}{label}" if kind == "theme_day" else label
                    self._held(community, kind, title, held_on)
                    count += 1
                # 政治生日: the members admitted in this month, with the secretary.
                held_on = date(YEAR, month, rng.randint(1, 5))
                due = [p.id for p in plan.people.values() if p.party_in(community, held_on)
                       and p.party_from.month == month and p.party_from.year < YEAR]
                if due:
                    self._held(community, "political_birthday", f"为{len(due)}名党员过政治生日", held_on,
                               everyone=due + [plan.secretaries[community]])
                    count += 1
        self.meetings_held = count

    def _held(self, community: str, kind: str, title: str, held_on: date, everyone: list | None = None) -> None:
        rng, plan = self.rng, self.plan
        if everyone is None:
            members = sorted(p.id for p in plan.people.values() if p.party_in(community, held_on))
            if kind == "committee_meeting":
                members = [m for m in plan.committees[community] if plan.people[m].party_in(community, held_on)]
            elif kind == "group_meeting":
                members = members[: max(8, len(members) // 3)] if held_on.month % 3 == 0 else \
                    members[len(members) // 3: 2 * len(members) // 3] if held_on.month % 3 == 1 else \
                    members[2 * len(members) // 3:]
        else:
            members = sorted(set(m for m in everyone if plan.people[m].party_in(community, held_on)))
        rate = {"members_meeting": 0.86, "committee_meeting": 0.95, "org_life_meeting": 0.9,
                "political_birthday": 0.95}.get(kind, 0.84)
        present = [m for m in members if rng.random() < rate or m == plan.secretaries[community]]
        if kind == "members_meeting":
            voting = [m for m in members if plan.people[m].stage_on(held_on) == "full"]
            if len(set(present) & set(voting)) * 2 <= len(voting):
                present = sorted(set(present) | set(voting[: len(voting) // 2 + 1]))
        absent = [{"member_id": m, "reason": rng.choice(ABSENCE_REASONS)} for m in members if m not in present]
        activity = f"{community}-2018-{held_on.month:02d}-{kind}"
        self.held.add((community, kind, held_on.month))
        self.send("activities", self.envelope("activity_held", {
            "id": activity, "kind": kind, "title": title, "org_unit_id": community,
            "scheduled_for": held_on.isoformat(), "held_on": held_on.isoformat(), "attendee_ids": present,
            "absentees": absent}, activity, community, held_on, "e-branch"))

    # -- the two lecture series ---------------------------------------------------------------
    def lectures(self) -> None:
        rng, plan = self.rng, self.plan
        # 小城论剑: the demo's June session, then seven more at the street organ's theme days.
        have = {mid for mid, _ in self.state.lecture_speakers[XCLJ]}
        zones_with = {plan.people[mid].unit.rsplit("-c", 1)[0] for mid, role in self.state.lecture_speakers[XCLJ]
                      if role == "zone_secretary"}
        cadres = [(f"{self.unique_name()}", "zone_secretary", f"{demo.ZONES[z][0]}书记")
                  for z in demo.ZONES if z not in zones_with]
        needed = ARTICLE["xclj_speakers"] - len(have) - len(cadres)
        cadres += [(self.unique_name(), "department_head", f"{d}主任") for d in DEPARTMENTS[:needed]]
        rng.shuffle(cadres)
        days = [date(2018, 7, 10), date(2018, 8, 14), date(2018, 9, 11), date(2018, 10, 16), date(2018, 11, 13),
                date(2018, 11, 27), date(2018, 12, 11)]
        per = _split(len(cadres), len(days))
        topics = ["讲担当比作为：我的岗位我的责任", "服务保障上合峰会的经验和体会", "征地拆迁中的群众工作方法",
                  "生态保护与护林防火", "王哥庄大集整治的做法", "扫黑除恶专项斗争的体会", "乡村振兴“成方连片”的实践"]
        for n, (held_on, k) in enumerate(zip(days, per)):
            group, cadres = cadres[:k], cadres[k:]
            activity = f"wgz-2018-{held_on.month:02d}-{held_on.day:02d}-xclj"
            self.send("lectures", self.envelope("activity_held", {
                "id": activity, "kind": "lecture", "series": XCLJ, "title": f"{XCLJ}：{topics[n]}",
                "org_unit_id": STREET, "scheduled_for": held_on.isoformat(), "held_on": held_on.isoformat(),
                "attendee_ids": [], "speakers": [{"name": name, "role": role} for name, role, _ in group],
                "minutes": "发言人：" + "；".join(f"{post}{name}" for name, _, post in group)},
                activity, STREET, held_on, "e-branch"))
        # 乡村头雁自讲堂: the demo's June session, then five more; every secretary and
        # the four directors take the floor once.
        spoken = {mid for mid, _ in self.state.lecture_speakers[XCTYZJT]}
        speakers = [(plan.secretaries[c], "community_secretary") for c, _, _ in plan.communities
                    if plan.secretaries[c] not in spoken]
        speakers += [(m, "residents_committee_director") for m in plan.directors.values() if m not in spoken]
        rng.shuffle(speakers)
        days = [date(2018, 7, 24), date(2018, 8, 28), date(2018, 9, 25), date(2018, 10, 30), date(2018, 11, 27)]
        topics = ["如何带好社区两委班子", "征地拆迁中的群众工作", "生态保护和护林防火", "社会稳定与矛盾化解",
                  "乡村振兴的路子怎么走"]
        leaders = sorted(set(plan.secretaries.values()) | set(plan.directors.values()))
        for n, (held_on, k) in enumerate(zip(days, _split(len(speakers), len(days)))):
            group, speakers = speakers[:k], speakers[k:]
            present = sorted({m for m in leaders if rng.random() < 0.9} | {m for m, _ in group})
            present = [m for m in present if plan.people[m].active_on(held_on)]
            activity = f"wgz-2018-{held_on.month:02d}-{held_on.day:02d}-xctyzjt"
            self.send("lectures", self.envelope("activity_held", {
                "id": activity, "kind": "lecture", "series": XCTYZJT, "title": f"{XCTYZJT}：{topics[n]}",
                "org_unit_id": STREET, "scheduled_for": held_on.isoformat(), "held_on": held_on.isoformat(),
                "attendee_ids": present,
                "speakers": [{"member_id": m, "name": plan.people[m].name, "role": role} for m, role in group]},
                activity, STREET, held_on, "e-branch"))

    # -- small deeds --------------------------------------------------------------------------
    def deeds(self) -> None:
        """23,561 deeds by 2,095 members, at most one a week each (每周为群众办一件小事)."""
        rng, plan = self.rng, self.plan
        demo_deeds = self.state.deeds
        demo_weeks: dict[str, set] = {}
        for body in demo_deeds:
            demo_weeks.setdefault(body["member_id"], set()).add(date.fromisoformat(body["done_on"]).isocalendar()[1])
        current = [p for p in plan.people.values() if p.active_on(DEC31) and p.admitted_by(DEC31)]
        assert len(current) == ARTICLE["party_members"], len(current)
        departed_doers = {b["member_id"] for b in demo_deeds if not plan.people[b["member_id"]].active_on(DEC31)}
        # Those who left in 2018 after some months did deeds before they left.
        leavers = [p for p in plan.people.values() if p.source == "2018" and p.left and p.left[1] > date(2018, 4, 1)]
        departed_doers |= {p.id for p in leavers}
        # As many current members did none (the oldest and frailest): 2,095 members with deeds.
        frail = sorted((p for p in current if p.source == "2018" and p.role is None and not p.changes
                        and p.birth < date(1938, 1, 1)), key=lambda p: (p.birth, p.id))
        self.no_deeds = {p.id for p in frail[: len(departed_doers)]}
        assert len(self.no_deeds) == len(departed_doers)
        doers = [p for p in current if p.id not in self.no_deeds] + [plan.people[m] for m in sorted(departed_doers)
                                                                    if plan.people[m].source == "2018"]
        # Weekly slots each doer could fill in 2018, and how busy each one is.
        season = {w: 1.0 for w in range(1, 53)}
        season.update({6: 0.7, 7: 0.45, 8: 0.7, 22: 1.6, 23: 1.7, 24: 1.4, 26: 1.3, 27: 1.2, 40: 0.7})
        slots, weight = {}, {}
        for p in doers:
            start, end = max(p.party_from, JAN1), min(p.last_day(), date(2018, 12, 30))
            weeks = [w for w in range(1, 53) if _week_end(w) >= start and _week_start(w) <= end
                     and w not in demo_weeks.get(p.id, ())]
            slots[p.id] = weeks
            age = YEAR - p.birth.year
            weight[p.id] = rng.lognormvariate(0, 0.55) * (0.4 if age >= 75 else 0.8 if age >= 65 else 1.0) \
                * (1.6 if p.role else 1.0) * len(weeks) / 52
        counts = {p.id: 0 if demo_weeks.get(p.id) else 1 for p in doers}
        left = ARTICLE["deeds"] - len(demo_deeds) - sum(counts.values())
        ids = sorted(counts)
        while left > 0:
            pool = [m for m in ids if counts[m] < len(slots[m])]
            for m in rng.choices(pool, [weight[m] for m in pool], k=min(left, 4000)):
                if left and counts[m] < len(slots[m]):
                    counts[m] += 1
                    left -= 1
        categories = [("帮扶困难户", 14), ("环境整治", 16), ("邻里调解", 8), ("代办事务", 14), ("护林防火", 7),
                      ("助老助残", 12), ("义务巡逻", 8), ("政策宣传", 7), ("农忙帮工", 6), ("看望孤寡老人", 8)]
        texts = {"帮扶困难户": "为困难户{h}送去米面油，帮助申请临时救助", "环境整治": "清理{h}门前屋后的杂物和垃圾",
                 "邻里调解": "调解{h}与邻居因排水沟引起的矛盾", "代办事务": "为{h}代办医保报销手续",
                 "护林防火": "在山林防火点值守，劝阻上坟烧纸", "助老助残": "帮{h}的独居老人买药、理发",
                 "义务巡逻": "参加夜间义务巡逻", "政策宣传": "向{h}宣传扫黑除恶和乡村振兴政策",
                 "农忙帮工": "帮{h}采摘春茶、晾晒海带", "看望孤寡老人": "看望{h}的孤寡老人，帮助打扫卫生",
                 "峰会环境提升": "参加上合峰会环境提升志愿服务，清理街巷"}
        deeds = 0
        for m in ids:
            p = plan.people[m]
            weeks = sorted(slots[m], key=lambda w: rng.random() ** (1 / season[w]), reverse=True)[: counts[m]]
            start, end = max(p.party_from, JAN1), min(p.last_day(), date(2018, 12, 30))
            for w in sorted(weeks):
                day = self.day_between(max(_week_start(w), start), min(_week_end(w), end))
                category = "峰会环境提升" if w in (22, 23) and rng.random() < 0.4 else \
                    rng.choices([c for c, _ in categories], [n for _, n in categories])[0]
                household = p.household_on(day) if category not in ("护林防火", "义务巡逻") else None
                body = {"id": f"{m}-d2018w{w:02d}", "member_id": m, "household_id": household,
                        "done_on": day.isoformat(), "category": category,
                        "description": texts[category].format(h="联系户" if household else "群众")}
                unit = p.unit_on(day)
                if rng.random() < 0.3 and plan.secretaries.get(unit) not in (None, m) \
                        and plan.people[plan.secretaries[unit]].active_on(day):
                    body["recorded_by"] = plan.secretaries[unit]     # 谁记录谁证明
                self.send("deeds", self.envelope("deed_recorded", body, body["id"], unit, day, "grid-app"))
                deeds += 1
        assert deeds + len(demo_deeds) == ARTICLE["deeds"], deeds

    # -- cases: 小城冲锋号 and 法律门诊 ---------------------------------------------------------
    def cases(self) -> None:
        rng, plan = self.rng, self.plan
        communities = [c for c, _, _ in plan.communities]
        by_size = [self.size[c] for c in communities]
        matters = {"生态环境": ["清理河道垃圾和违章养殖", "整治山体违法取土", "拆除海边违建鱼屋"],
                   "社会治理": ["整治背街小巷私搭乱建", "修复损坏的路灯", "疏通堵塞的下水道"],
                   "征地拆迁": ["做通征地拆迁户思想工作", "协调地上附着物清点确认"],
                   "王哥庄大集整治": ["大集占道经营整治", "大集周边交通疏导"],
                   "乡村振兴": ["修复村内破损道路", "整修社区文化广场", "改造自来水管网"],
                   "民生保障": ["帮助困难户修缮危房", "为独居老人安装取暖设施"]}
        disputes = ["邻里宅基地纠纷", "土地承包经营权纠纷", "赡养纠纷", "海域养殖区界纠纷", "婚姻家庭纠纷",
                    "拖欠工资纠纷", "房屋租赁纠纷"]
        month_weight = [0.6, 0.5, 0.9, 1.2, 1.4, 1.5, 1.0, 0.9, 1.0, 1.0, 1.0, 0.9]
        teams = (("party_member", "党员突击队"), ("youth", "青年突击队"), ("women", "巾帼服务队"))

        def resolved_day() -> date:
            month = rng.choices(range(1, 13), month_weight)[0]
            return date(YEAR, month, rng.randint(1, 28))

        solved = ARTICLE["difficult_matters_solved"] - self.state.counts["june_cases_solved"]
        mediated = ARTICLE["disputes_mediated"] - self.state.counts["june_disputes_mediated"]
        plans = ([("difficult_matter", "resolved")] * solved + [("dispute", "resolved")] * mediated
                 + [("difficult_matter", "open")] * 16 + [("difficult_matter", "2019")] * 9
                 + [("difficult_matter", "closed")] * 3 + [("dispute", "open")] * 4)
        numbers: dict[tuple, int] = {}
        for kind, fate in plans:
            community = rng.choices(communities, by_size)[0]
            if fate == "resolved":
                resolved = resolved_day()
                opened = resolved - timedelta(days=rng.randint(1, 40) if kind == "difficult_matter" else rng.randint(3, 60))
            else:
                opened = date(2018, 12, rng.randint(1, 24))
                resolved = date(2019, 1, rng.randint(5, 25)) if fate == "2019" else None
            key = (community, kind)
            numbers[key] = numbers.get(key, 0) + 1
            case_id = f"{community}-{'sx' if kind == 'difficult_matter' else 'jf'}-2018-{numbers[key]:03d}"
            if kind == "difficult_matter":
                theme = rng.choice(sorted(matters))
                if opened.month == 6 and opened.day < 10 and rng.random() < 0.5:
                    theme, summary = "峰会服务保障", "上合峰会期间环境整治和安全巡查"
                else:
                    summary = rng.choice(matters[theme])
                team, team_name = rng.choices(teams, (6, 2, 2))[0]
                body = {"id": case_id, "kind": kind, "org_unit_id": community, "opened_on": opened.isoformat(),
                        "summary": f"{theme}：{summary}", "owner": f"{self._name_of(community)}{team_name}",
                        "team": team, "campaign": "小城冲锋号"}
                outcome = "已解决，群众满意"
            else:
                body = {"id": case_id, "kind": kind, "org_unit_id": community, "opened_on": opened.isoformat(),
                        "summary": rng.choice(disputes), "owner": "法律顾问", "team": None, "campaign": "法律门诊"}
                outcome = "调解成功，双方签订调解协议"
            self.send("cases", self.envelope("case_opened", body, case_id, community, opened, "12345-hotline"))
            if resolved:
                self.send("resolutions", self.envelope("case_resolved", {
                    "case_id": case_id, "resolved_on": resolved.isoformat(), "outcome": outcome},
                    case_id, community, resolved, "grid-app"))
            elif fate == "closed":
                self.call("closures", f"/cases/{case_id}/close", {
                    "closed_on": (opened + timedelta(days=5)).isoformat(), "reason": "诉求人撤回诉求"}, tolerate=True)

    # -- 党建巡诊 ------------------------------------------------------------------------------
    def inspections(self) -> None:
        """Both of the demo's rounds cover the 22 other communities too (their scope is the zones)."""
        rng = self.rng
        ours = [c for c, _, _ in self.plan.communities if c not in self.state.communities]
        problems = {"组织生活会": ["组织生活会会议记录不规范", "批评与自我批评不够深入"],
                    "民主评议党员": ["民主评议党员测评表未存档", "评议结果未公示"],
                    "三会一课": ["党小组会记录不全", "党课未按季度开展", "支委会议题记录简单"],
                    "主题党日": ["主题党日活动照片资料未归档", "主题党日签到表缺页"],
                    "扫黑除恶专项斗争": ["扫黑除恶宣传氛围不浓", "线索摸排台账不完整"]}
        r1 = _weekdays(date(2018, 4, 16), date(2018, 6, 15))
        r2 = _weekdays(date(2018, 10, 22), date(2018, 11, 23))
        self.findings = 0
        for n, community in enumerate(ours):
            for rnd, days, low, share in (("xz-2018-1", r1, 0.7, 0.75), ("xz-2018-2", r2, 0.8, 0.4)):
                inspected = days[(n * len(days)) // len(ours)]
                scores = {i["item"]: round(i["max_score"] * rng.uniform(low, 1.0) * 2) / 2 for i in demo.CHECKLIST}
                suffix = "xz1" if rnd.endswith("1") else "xz2"
                findings = []
                for k in range(rng.choice((1, 1, 2)) if rng.random() < share else 0):
                    item = rng.choice(sorted(problems))
                    findings.append({"id": f"{community}-{suffix}-f{k + 1}", "item": item,
                                     "severity": rng.choices(("low", "medium", "high"), (4, 5, 1))[0],
                                     "description": rng.choice(problems[item])})
                self.call("inspections", f"/inspection-rounds/{rnd}/assessments", {
                    "id": f"{community}-{suffix}", "org_unit_id": community, "inspected_on": inspected.isoformat(),
                    "scores": scores, "findings": findings, "inspector": demo.INSPECTORS[n % 2]})
                self.findings += len(findings)
                for finding in findings:
                    self._rectify(finding["id"], community, inspected, rnd)

    def _rectify(self, finding: str, community: str, found: date, rnd: str) -> None:
        """整改: a plan, the work, the evidence, an inspector's verification; most are done in time."""
        rng = self.rng
        secretary = f"{self._name_of(community)}党组织书记"
        path = f"/findings/{finding}"
        fate = rng.random()
        due = found + timedelta(days=rng.randint(20, 45)) if rnd.endswith("1") else \
            (date(2018, 12, 20) if fate < 0.85 else date(2019, 1, 20))
        self.call("rectification", f"{path}/rectification", {"owner": secretary, "due_on": due.isoformat(),
                                                              "plan": "对照问题清单逐项整改，建立长效机制"}, True)
        started = found + timedelta(days=rng.randint(2, 8))
        self.call("rectification", f"{path}/progress", {"started_on": started.isoformat()}, True)
        if rnd.endswith("1") and fate < 0.05 or rnd.endswith("2") and fate >= 0.85:
            return                                  # still at work on 31 December
        submitted = min(due, started + timedelta(days=rng.randint(7, 25)))
        self.call("rectification", f"{path}/submission", {"submitted_on": submitted.isoformat(),
                                                          "evidence": "整改台账和会议记录照片"}, True)
        inspector = demo.INSPECTORS[rng.randrange(2)]
        verified = submitted + timedelta(days=rng.randint(1, 6))
        if rnd.endswith("1") and fate > 0.9:       # the evidence fell short: reopened, done again
            self.call("rectification", f"{path}/verification", {"verified_on": verified.isoformat(), "passed": False,
                                                                "inspector": inspector, "note": "整改不彻底"}, True)
            again = verified + timedelta(days=rng.randint(5, 15))
            self.call("rectification", f"{path}/submission", {"submitted_on": again.isoformat(),
                                                              "evidence": "补充整改材料"}, True)
            verified = again + timedelta(days=3)
        self.call("rectification", f"{path}/verification", {"verified_on": verified.isoformat(), "passed": True,
                                                            "inspector": inspector}, True)

    # -- honours: the street's own (小城冲锋号) ---------------------------------------------------
    def honours(self) -> None:
        rng, plan = self.rng, self.plan
        demo_collective = sum(1 for p, b in self.state.calls if p == "/nominations" and b["category_id"] == "xjjt")
        demo_individual = self.state.counts["honours_individual"]
        collectives = [c for c, _, _ in plan.communities if c not in self.state.awarded]
        collectives = rng.sample(collectives, ARTICLE["collective"] - demo_collective)
        eligible = sorted(p.id for p in plan.people.values() if p.source == "2018" and p.stage == "full"
                          and not p.changes and p.left is None and p.moved is None and p.id not in self.no_deeds
                          and p.birth > date(1945, 1, 1))
        individuals = rng.sample(eligible, ARTICLE["individual"] - demo_individual + 2)
        rejected = set(individuals[-2:])
        nominees = [("xjjt", c) for c in sorted(collectives)] + [("xjgr", m) for m in sorted(individuals)]
        for category, nominee in nominees:
            nomination = f"2018-{category}-{nominee}"
            self.call("honours", "/nominations", {
                "id": nomination, "category_id": category, "nominee_id": nominee, "year": YEAR,
                "nominated_on": "2018-12-03", "reason": "“小城冲锋号”攻坚克难行动中表现突出"})
            for decision, day in (("approve", "2018-12-05"), ("publicize", "2018-12-06")):
                self.call("honours", f"/nominations/{nomination}/decisions", {"decision": decision,
                                                                             "decided_on": day}, True)
            if nominee in rejected:
                self.call("honours", f"/nominations/{nomination}/objections", {
                    "raised_on": "2018-12-10", "by": "群众来信", "content": "反映其联户走访不经常"}, True)
                self.call("honours", f"/nominations/{nomination}/decisions", {
                    "decision": "reject", "decided_on": "2018-12-17", "note": "经核实，异议部分属实"}, True)
            else:
                self.call("honours", f"/nominations/{nomination}/decisions", {"decision": "award",
                                                                             "decided_on": "2018-12-21"}, True)

    def _missed_obligations(self) -> int:
        """三会一课 periods of 2018 in which a community held nothing (default frequencies)."""
        periods = {"theme_day": 12, "committee_meeting": 12, "group_meeting": 12, "members_meeting": 4,
                   "party_lesson": 4, "org_life_meeting": 1, "member_appraisal": 1}
        missed = 0
        for community, _, _ in self.plan.communities:
            for kind, n in periods.items():
                held = {(month - 1) * n // 12 for c, k, month in self.held if c == community and k == kind}
                missed += n - len(held)
        return missed

    def expectations(self) -> None:
        people = self.plan.people.values()
        current = [p for p in people if p.active_on(DEC31) and p.admitted_by(DEC31)]
        self.plan.expected = {
            "party_members": len(current),
            "members": sum(1 for p in people if p.active_on(DEC31)),
            "full": sum(1 for p in current if p.stage_on(DEC31) == "full"),
            "deeds": ARTICLE["deeds"], "members_with_deeds": ARTICLE["members_with_deeds"],
            "difficult_matters_solved": ARTICLE["difficult_matters_solved"],
            "disputes_mediated": ARTICLE["disputes_mediated"], "collective": ARTICLE["collective"],
            "individual": ARTICLE["individual"], "units_inspected": ARTICLE["units_inspected"],
            "rounds": ARTICLE["rounds"],
            "obligations_missed": self._missed_obligations(),
        }
        assert self.plan.expected["party_members"] == ARTICLE["party_members"]


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:      # 29 February
        return day.replace(year=day.year + years, day=28)


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _week_start(week: int) -> date:
    return date.fromisocalendar(YEAR, week, 1)


def _week_end(week: int) -> date:
    return date.fromisocalendar(YEAR, week, 7)


def _weekdays(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)
            if (start + timedelta(days=i)).weekday() < 5]


def build_plan() -> tuple[DemoState, Plan]:
    state = record_demo()
    return state, Planner(state).build()


# -- sending it --------------------------------------------------------------------------------

class Loader:
    def __init__(self, base: str, amqp_uri: str, progress=print):
        self.base = base.rstrip("/")
        self.amqp_uri = amqp_uri
        self.progress = progress
        self._publisher = None

    def http(self, calls: list, what: str) -> None:
        started = time.monotonic()
        for n, (path, body, tolerate) in enumerate(calls, 1):
            (demo._once if tolerate else demo.post)(self.base, path, body)
            if n % 200 == 0:
                self.progress(f"  {what}: {n}/{len(calls)} requests")
        self.progress(f"  {what}: {len(calls)} requests in {time.monotonic() - started:.1f}s")

    def publish(self, envelopes: list, what: str) -> None:
        from lianxin.envelope import encode
        from lianxin.publisher import ConfirmPublisher, Outgoing
        from lianxin.topology import INTAKE_EXCHANGE

        if self._publisher is None:
            self._publisher = ConfirmPublisher(self.amqp_uri)
        started = time.monotonic()
        for i in range(0, len(envelopes), 2000):
            chunk = envelopes[i:i + 2000]
            result = self._publisher.publish([Outgoing(INTAKE_EXCHANGE, e["event_type"], encode(e), e["event_id"])
                                              for e in chunk])
            if result.failed:
                raise SeedError(f"intake publish failed: {list(result.failed.items())[:3]}")
        self.progress(f"  {what}: {len(envelopes)} intake events published in {time.monotonic() - started:.1f}s")

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()

    def freshness(self) -> dict:
        return requests.get(f"{self.base}/api/v1/reports/freshness", timeout=30, headers=auth_headers()).json()

    def settle(self, what: str, quiet_for: float = 5.0, timeout: float = 1800.0) -> None:
        """Until every consumer queue is empty and reporting has applied nothing
        new for `quiet_for` seconds (longer than the first retry tiers)."""
        started = last_report = time.monotonic()
        quiet_since, applied = None, None
        while time.monotonic() - started < timeout:
            fresh = self.freshness()
            backlog = {q: n for q, n in (fresh.get("backlog") or {}).items()
                       if not q.endswith(".dead") and n}
            now = time.monotonic()
            if not backlog and fresh["events_applied"] == applied:
                quiet_since = quiet_since or now
                if now - quiet_since >= quiet_for:
                    self.progress(f"  {what}: settled after {now - started:.0f}s "
                                  f"({fresh['events_applied']} events applied by reporting)")
                    return
            else:
                quiet_since = None
            applied = fresh["events_applied"]
            if now - last_report >= 15:
                last_report = now
                self.progress(f"  {what}: waiting, reporting has applied {applied} events; backlog {backlog}")
            time.sleep(1.0)
        raise SeedError(f"{what}: the system did not settle within {timeout:.0f}s")

    def summary(self, start: str = "2018-01-01", end: str = "2018-12-31", unit: str = STREET) -> dict:
        response = requests.get(f"{self.base}/api/v1/reports/summary", headers=auth_headers(),
                                params={"org_unit_id": unit, "from": start, "to": end}, timeout=30)
        return response.json() if response.status_code == 200 else {}


def headline(summary: dict) -> dict:
    """The figures the article gives, as the summary of the street for 2018 has them."""
    if not summary:
        return {}
    lectures = {s["series"]: s for s in summary.get("lecture_series", [])}
    roles = lambda series: lectures.get(series, {}).get("speakers_by_role", {})  # noqa: E731
    return {
        "party_members": summary["members"]["party_members"],
        "members_with_deeds": summary["deeds"]["members_with_deeds"],
        "deeds": summary["deeds"]["total"],
        "xclj_sessions": lectures.get(XCLJ, {}).get("sessions"),
        "xclj_speakers": lectures.get(XCLJ, {}).get("speakers"),
        "xctyzjt_sessions": lectures.get(XCTYZJT, {}).get("sessions"),
        "secretaries": roles(XCTYZJT).get("community_secretary"),
        "directors": roles(XCTYZJT).get("residents_committee_director"),
        "units_inspected": summary["inspections"]["units_inspected"],
        "rounds": summary["inspections"]["rounds"],
        "collective": summary["honours"]["collective"],
        "individual": summary["honours"]["individual"],
        "difficult_matters_solved": summary["cases"]["difficult_matters_solved"],
        "disputes_mediated": summary["cases"]["disputes_mediated"],
    }


def seed(base_url: str, amqp_uri: str | None = None, progress=print, wait: float = 1800.0) -> dict:
    """Load the 2018 data set into the system at base_url; returns the plan's
    expected figures with the summary's headline figures (`headline`)."""
    from lianxin.config import DEFAULT_AMQP_URI

    amqp_uri = amqp_uri or os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI
    started = time.monotonic()
    state, plan = build_plan()
    progress(f"== plan: {len(plan.communities)} communities, {len(plan.people)} members, "
             + ", ".join(f"{len(v)} {k}" for k, v in plan.intake.items()))
    loader = Loader(base_url, amqp_uri, progress)
    try:
        progress("== the make-run demo (scripts/demo.py), which this data set contains")
        demo.seed(loader.base, progress=progress, amqp_uri=amqp_uri)
        progress("== the other 22 communities and their Party organisations (HTTP)")
        loader.http(plan.http["structure"], "structure")
        loader.settle("the tree")
        progress("== members (intake)")
        loader.publish(plan.intake["members"], "members")
        loader.settle("members")
        progress("== household links and stage changes (intake)")
        loader.publish(plan.intake["links"] + plan.intake["stages"], "links and stages")
        loader.settle("links")
        progress("== deaths, moves away and transfers (HTTP)")
        loader.http(plan.http["history"], "history")
        loader.settle("history")
        progress("== 三会一课, lectures, small deeds and cases (intake)")
        loader.publish(plan.intake["activities"] + plan.intake["lectures"], "activities")
        loader.publish(plan.intake["cases"], "cases")
        loader.publish(plan.intake["deeds"], "deeds")
        loader.publish(plan.intake["resolutions"], "resolutions")
        loader.settle("activities, deeds and cases", quiet_for=8.0)
        progress("== cases closed, 党建巡诊 and honours (HTTP)")
        loader.http(plan.http["closures"], "closures")
        loader.http(plan.http["inspections"] + plan.http["rectification"], "inspections")
        loader.http(plan.http["honours"], "honours")
        result = wait_for_figures(loader, plan.expected, progress, wait)
    finally:
        loader.close()
    progress(f"== done in {time.monotonic() - started:.0f}s")
    return result


def wait_for_figures(loader: Loader, expected: dict, progress, timeout: float, still_for: float = 20.0) -> dict:
    """Until the summary shows the article's figures, or has not moved for
    `still_for` seconds with nothing left in the queues (then say what differs)."""
    deadline = time.monotonic() + timeout
    figures: dict = {}
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        figures = headline(loader.summary())
        if figures and all(figures[k] == v for k, v in ARTICLE.items() if k in figures):
            break
        if figures != last:
            last, since = figures, time.monotonic()
        elif time.monotonic() - since >= still_for:
            break
        time.sleep(1.0)
    loader.settle("the reports", quiet_for=3.0)
    figures = headline(loader.summary())
    differs = {k: {"summary": figures.get(k), "article": v} for k, v in ARTICLE.items()
               if k in figures and figures[k] != v}
    if differs:
        progress(f"!! the summary differs from the article: {differs}")
    return {"expected": expected, "summary": figures, "differs": differs}


def main(argv=None) -> int:
    from lianxin.config import DEFAULT_AMQP_URI

    port = int(os.environ.get("GATEWAY_PORT") or 8000)
    parser = argparse.ArgumentParser(prog="python -m scripts.demo2018", description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=f"http://127.0.0.1:{port}", help="the gateway (default: %(default)s)")
    parser.add_argument("--amqp", default=os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI,
                        help="the broker that carries lianxin.intake (default: AMQP_URI or %(default)s)")
    args = parser.parse_args(argv)
    try:
        requests.get(f"{args.base}/readyz", timeout=5).raise_for_status()
    except requests.RequestException as exc:
        print(f"error: Lianxin does not answer at {args.base} ({exc}); start it with `make run`", file=sys.stderr)
        return 2
    result = seed(args.base, args.amqp)
    width = max(map(len, ARTICLE))
    print(f"\n{'figure':<{width}}  {'summary':>8}  {'article':>8}")
    for key, want in ARTICLE.items():
        if key in result["summary"]:
            got = result["summary"][key]
            print(f"{key:<{width}}  {got!s:>8}  {want:>8}{'' if got == want else '  DIFFERS'}")
    print(f"\n{args.base}/api/v1/reports/narrative?org_unit_id={STREET}&from=2018-01-01&to=2018-12-31")
    return 0 if all(result["summary"].get(k) == v for k, v in ARTICLE.items() if k in result["summary"]) else 1


if __name__ == "__main__":
    sys.exit(main())
