"""The reporting model's activities part: deeds, activities by kind, lecture
series, cases, from activities' events beside the membership tree."""
import random
from itertools import permutations


from lianxin.catalog import CATALOG
from lianxin.catalog.activities import ACTIVITY_KINDS
from tests.unit.test_reporting_domain import D, OCCURRED, YEAR_2018, member, model_of, twin, unit, zones


def activities_event(event_type, data, occurred_at=OCCURRED):
    return CATALOG.validate(CATALOG.new_event(event_type, data, source="activities",
                                              org_unit_id=data["org_unit_id"], occurred_at=occurred_at))


def activity_held(activity_id, kind, org_unit_id, held_on, series=None, session_no=None, speakers=()):
    return activities_event("activity_held", {
        "activity_id": activity_id, "kind": kind, "series": series, "session_no": session_no,
        "title": f"{series or kind} {activity_id}", "org_unit_id": org_unit_id, "held_on": D(held_on),
        "attendee_ids": [], "absentees": [], "speakers": list(speakers), "expected": None})


def deed_recorded(deed_id, member_id, org_unit_id, done_on, points=1):
    return activities_event("deed_recorded", {
        "deed_id": deed_id, "member_id": member_id, "household_id": None, "org_unit_id": org_unit_id,
        "done_on": D(done_on), "category": "visit", "description": "帮扶", "recorded_by": member_id,
        "points": points})


def deed_disputed(deed_id, member_id, org_unit_id, decided_on):
    return activities_event("deed_disputed", {"deed_id": deed_id, "member_id": member_id,
                                              "org_unit_id": org_unit_id, "decided_on": D(decided_on),
                                              "note": "不实"})


def case_resolved(case_id, kind, org_unit_id, resolved_on):
    return activities_event("case_resolved", {"case_id": case_id, "kind": kind, "org_unit_id": org_unit_id,
                                              "resolved_on": D(resolved_on), "outcome": "办结"})


def tree():
    """zones() (wgz: za with ca, ca2 and grid g; zb with cb) and another street."""
    return zones() + [unit("other", "street", "laoshan"), unit("co", "community", "other"),
                      member("m1", "ca"), member("m2", "g"), member("m3", "cb"), member("mo", "co")]


def summary(events, unit_id="wgz", period=YEAR_2018):
    return model_of(events).summary(unit_id, *period)


# -- deeds ---------------------------------------------------------------------------------------

def deeds_history():
    return [
        deed_recorded("d1", "m1", "ca", "2018-03-01"), deed_recorded("d2", "m1", "ca", "2018-05-01", points=2),
        deed_recorded("d3", "m2", "g", "2018-06-01"), deed_recorded("d4", "m3", "cb", "2018-07-01"),
        deed_disputed("d4", "m3", "cb", "2018-07-05"),
        deed_recorded("d5", "m3", "cb", "2017-12-31"), deed_recorded("d6", "mo", "co", "2018-02-01"),
        deed_recorded("d7", "m2", "g", "2018-12-31", points=3), deed_recorded("d8", "m3", "cb", "2019-01-01"),
    ]


def test_deeds_counted_by_done_on_in_the_period_and_the_subtree_only():
    events = tree() + deeds_history()
    assert summary(events)["deeds"] == {"total": 4, "members_with_deeds": 2, "points": 1 + 2 + 1 + 3}
    assert summary(events, "za")["deeds"] == {"total": 4, "members_with_deeds": 2, "points": 7}
    assert summary(events, "g")["deeds"] == {"total": 2, "members_with_deeds": 1, "points": 4}
    assert summary(events, "zb")["deeds"] == {"total": 0, "members_with_deeds": 0, "points": 0}
    assert summary(events, "laoshan")["deeds"] == {"total": 5, "members_with_deeds": 3, "points": 8}
    assert summary(events, "other")["deeds"]["total"] == 1
    assert summary(events, "wgz", (D("2018-01-01"), D("2018-03-31")))["deeds"]["total"] == 1
    assert summary(events, "wgz", (D("2018-03-01"), D("2018-03-01")))["deeds"]["total"] == 1     # both ends count
    assert summary(events, "zb", (D("2017-01-01"), D("2017-12-31")))["deeds"]["total"] == 1
    assert summary(events, "zb", (D("2019-01-01"), D("2019-12-31")))["deeds"]["total"] == 1


def test_a_disputed_deed_is_excluded_whatever_the_order():
    recorded = deed_recorded("d", "m1", "ca", "2018-03-01")
    disputed = deed_disputed("d", "m1", "ca", "2018-03-02")
    kept = deed_recorded("k", "m1", "ca", "2018-03-03", points=5)
    for order in permutations([recorded, disputed, kept]):
        assert summary(tree() + list(order))["deeds"] == {"total": 1, "members_with_deeds": 1, "points": 5}


def test_members_with_deeds_are_distinct_and_repeats_count_once():
    first = deed_recorded("d1", "m1", "ca", "2018-03-01")
    events = tree() + [first, deed_recorded("d2", "m1", "ca", "2018-03-02"), deed_recorded("d3", "m1", "g", "2018-04-01"),
                       twin(first), first]
    assert summary(events)["deeds"] == {"total": 3, "members_with_deeds": 1, "points": 3}


# -- activities and lecture series ------------------------------------------------------------------

def test_activities_by_kind_counted_by_held_on_in_the_subtree():
    events = tree() + [
        activity_held("a1", "theme_day", "ca", "2018-01-10"), activity_held("a2", "theme_day", "ca", "2018-02-10"),
        activity_held("a3", "members_meeting", "g", "2018-03-10"), activity_held("a4", "party_lesson", "cb", "2018-12-31"),
        activity_held("a5", "theme_day", "ca", "2017-12-31"), activity_held("a6", "theme_day", "co", "2018-05-01"),
        activity_held("a7", "org_life_meeting", "wgz", "2019-01-01"),
    ]
    by_kind = summary(events)["activities"]["by_kind"]
    assert set(by_kind) == set(ACTIVITY_KINDS)
    assert {k: v for k, v in by_kind.items() if v} == {"theme_day": 2, "members_meeting": 1, "party_lesson": 1}
    assert {k: v for k, v in summary(events, "za")["activities"]["by_kind"].items() if v} == \
        {"theme_day": 2, "members_meeting": 1}
    assert {k: v for k, v in summary(events, "laoshan")["activities"]["by_kind"].items() if v} == \
        {"theme_day": 3, "members_meeting": 1, "party_lesson": 1}
    assert summary(events, "wgz", (D("2017-12-31"), D("2018-01-10")))["activities"]["by_kind"]["theme_day"] == 2
    assert summary(events, "wgz", (D("2019-01-01"), D("2019-12-31")))["activities"]["by_kind"]["org_life_meeting"] == 1


def sessions(series, prefix, first_day, speakers_per_session):
    return [activity_held(f"{prefix}-{n}", "lecture", "wgz", (D(first_day).replace(month=n + 1)).isoformat(),
                          series=series, session_no=n, speakers=speakers)
            for n, speakers in enumerate(speakers_per_session, start=1)]


def speaker(member_id, name, role):
    return {"member_id": member_id, "name": name, "role": role}


def xiaocheng_lunjian():
    """小城论剑: 8 sessions, 26 speakers (6 department heads from outside, by name; 4 zone and
    16 community secretaries, members), two of them speaking twice."""
    heads = [speaker(None, f"部门负责人{i}", "department_head") for i in range(6)]
    zones_ = [speaker(f"zs-{i}", f"管区书记{i}", "zone_secretary") for i in range(4)]
    communities = [speaker(f"cs-{i}", f"社区书记{i}", "community_secretary") for i in range(16)]
    everyone = heads + zones_ + communities
    per_session = [everyone[i::8] for i in range(8)]
    per_session[7] = per_session[7] + [heads[0], communities[3]]          # an outsider and a member, again
    return sessions("小城论剑", "xc", "2018-01-15", per_session)


def toutouyan():
    """乡村头雁自讲堂: 6 sessions, 38 speakers of which 34 secretaries and 4 directors."""
    secretaries = [speaker(f"ts-{i}", f"书记{i}", ("community_secretary", "party_secretary")[i % 2])
                   for i in range(34)]
    directors = [speaker(f"td-{i}", f"主任{i}", "residents_committee_director") for i in range(4)]
    everyone = secretaries + directors
    per_session = [everyone[i::6] for i in range(6)]
    per_session[0] = per_session[0] + [secretaries[5], directors[1]]       # two of them speak twice
    return sessions("乡村头雁自讲堂", "ty", "2018-01-20", per_session)


def test_lecture_series_sessions_and_distinct_speakers_with_secretaries_and_directors():
    events = tree() + xiaocheng_lunjian() + toutouyan()
    lectures = {entry["series"]: entry for entry in summary(events)["lecture_series"]}
    xc, ty = lectures["小城论剑"], lectures["乡村头雁自讲堂"]
    assert (xc["sessions"], xc["speakers"], xc["secretaries"], xc["directors"]) == (8, 26, 20, 0)
    assert xc["speakers_by_role"] == {"community_secretary": 16, "department_head": 6, "zone_secretary": 4}
    assert (ty["sessions"], ty["speakers"], ty["secretaries"], ty["directors"]) == (6, 38, 34, 4)
    assert ty["speakers_by_role"] == {"community_secretary": 17, "party_secretary": 17,
                                      "residents_committee_director": 4}
    assert [entry["series"] for entry in summary(events)["lecture_series"]] == sorted(lectures)
    assert summary(events)["activities"]["by_kind"]["lecture"] == 14


def test_lecture_series_count_only_sessions_held_in_the_period_and_subtree():
    events = tree() + xiaocheng_lunjian() + [
        activity_held("xc-2017", "lecture", "wgz", "2017-11-01", series="小城论剑", session_no=0,
                      speakers=[speaker(None, "往年讲者", "guest")]),
        activity_held("xc-other", "lecture", "co", "2018-06-01", series="小城论剑", session_no=9,
                      speakers=[speaker(None, "外街讲者", "guest")]),
    ]
    [xc] = summary(events)["lecture_series"]
    assert (xc["sessions"], xc["speakers"]) == (8, 26)
    [first_half] = summary(events, "wgz", (D("2018-01-01"), D("2018-06-30")))["lecture_series"]
    assert first_half["sessions"] == 5                  # monthly from 2018-02-15: February to June
    assert summary(events, "za")["lecture_series"] == []                # the series is the street's
    [everywhere] = summary(events, "laoshan")["lecture_series"]
    assert (everywhere["sessions"], everywhere["speakers"]) == (9, 27)


def test_an_outsider_and_a_member_of_the_same_name_are_two_speakers():
    events = tree() + [activity_held("l1", "lecture", "wgz", "2018-03-01", series="s", session_no=1,
                                     speakers=[speaker(None, "张三", "guest"), speaker("m1", "张三", "member")]),
                       activity_held("l2", "lecture", "wgz", "2018-04-01", series="s", session_no=2,
                                     speakers=[speaker(None, "张三", "guest"), speaker("m1", "张三（书记）", "member")])]
    [entry] = summary(events)["lecture_series"]
    assert (entry["sessions"], entry["speakers"]) == (2, 2)


def colliding_ids():
    """Two activity ids whose order in a set depends on which was added first."""
    for i in range(1, 1000):
        for j in range(i):
            a, b = f"s-{i}", f"s-{j}"
            first, second = {a: None}, {b: None}
            ab, ba = set(), set()
            ab.update(first), ab.update(second)
            ba.update(second), ba.update(first)
            if list(ab) != list(ba):
                return a, b
    raise AssertionError("no colliding ids found")



def test_a_speaker_in_two_roles_gives_the_same_figures_in_every_event_order():
    a, b = colliding_ids()
    same_person = "cs-1"
    as_secretary = activity_held(a, "lecture", "wgz", "2018-03-01", series="乡村头雁自讲堂", session_no=1,
                                 speakers=[speaker(same_person, "王书记", "community_secretary")])
    as_director = activity_held(b, "lecture", "wgz", "2018-09-01", series="乡村头雁自讲堂", session_no=2,
                                speakers=[speaker(same_person, "王书记", "residents_committee_director")])
    figures = [summary(tree() + order)["lecture_series"] for order in ([as_secretary, as_director],
                                                                       [as_director, as_secretary])]
    assert figures[0][0]["speakers"] == figures[1][0]["speakers"] == 1
    assert figures[0] == figures[1]


# -- cases ------------------------------------------------------------------------------------------

def test_cases_counted_by_resolved_on_and_kind_in_the_subtree():
    events = tree() + [
        case_resolved("c1", "difficult_matter", "ca", "2018-02-01"),
        case_resolved("c2", "difficult_matter", "g", "2018-12-31"),
        case_resolved("c3", "dispute", "cb", "2018-06-01"),
        case_resolved("c4", "dispute", "cb", "2017-12-31"),
        case_resolved("c5", "difficult_matter", "co", "2018-06-01"),
        case_resolved("c6", "dispute", "wgz", "2019-01-01"),
    ]
    assert summary(events)["cases"] == {"difficult_matters_solved": 2, "disputes_mediated": 1}
    assert summary(events, "za")["cases"] == {"difficult_matters_solved": 2, "disputes_mediated": 0}
    assert summary(events, "zb")["cases"] == {"difficult_matters_solved": 0, "disputes_mediated": 1}
    assert summary(events, "laoshan")["cases"] == {"difficult_matters_solved": 3, "disputes_mediated": 1}
    assert summary(events, "wgz", (D("2017-01-01"), D("2017-12-31")))["cases"]["disputes_mediated"] == 1
    assert summary(events, "wgz", (D("2019-01-01"), D("2019-12-31")))["cases"]["disputes_mediated"] == 1
    # the same resolution delivered twice, or twinned, counts once
    again = events + [events[-1], twin(events[-6])]
    assert summary(again)["cases"] == {"difficult_matters_solved": 2, "disputes_mediated": 1}


# -- order ------------------------------------------------------------------------------------------

def everything():
    return tree() + deeds_history() + xiaocheng_lunjian() + toutouyan() + [
        activity_held("a1", "theme_day", "ca", "2018-01-10"), activity_held("a3", "members_meeting", "g", "2018-03-10"),
        activity_held("a4", "party_lesson", "cb", "2018-12-31"), activity_held("a6", "theme_day", "co", "2018-05-01"),
        case_resolved("c1", "difficult_matter", "ca", "2018-02-01"), case_resolved("c3", "dispute", "cb", "2018-06-01"),
        case_resolved("c5", "difficult_matter", "co", "2018-06-01"),
        deed_recorded("late", "m1", "ca", "2018-08-01"), deed_disputed("late", "m1", "ca", "2018-08-02"),
    ]


def test_shuffled_event_orders_give_identical_summaries():
    periods = [YEAR_2018, (D("2018-01-01"), D("2018-06-30")), (D("2017-01-01"), D("2017-12-31"))]
    units = ("laoshan", "wgz", "za", "zb", "g", "other")
    events = everything()
    expected = {(u, p): summary(events, u, p) for u in units for p in periods}
    assert expected[("wgz", YEAR_2018)]["deeds"]["total"] == 4
    assert len(expected[("wgz", YEAR_2018)]["lecture_series"]) == 2
    rng = random.Random(2018)
    for _ in range(30):
        shuffled = events[:]
        rng.shuffle(shuffled)
        model = model_of(shuffled)
        assert {(u, p): model.summary(u, *p) for u in units for p in periods} == expected
