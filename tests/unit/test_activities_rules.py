"""Activities rules in plain Python: a MembershipView built from membership's
events, a fixed `today`, and the domain functions of services/activities."""
from datetime import date
from itertools import pairwise

import pytest

from lianxin.catalog import CATALOG
from lianxin.errors import Conflict, InvalidInput, NotFound
from lianxin.membership_view import MembershipView
from services.activities import domain
from services.activities.domain import DEFAULT_FREQUENCIES, AppraisalSheet, Period
from tests.unit.test_reporting_domain import (
    D, linked, member, not_admitted, party_org, stage_changed, status_changed, transfer_completed, zones,
)

TODAY = date(2018, 6, 30)


def world():
    """wgz street (zones za, zb; communities ca, ca2 with grid g, cb), a branch in ca.

    ca: f1..f4 full; p1 probationary since 2018-03-01; a1 an applicant; gone (full)
    transferred out on 2018-05-01; mover (full) received by cb on 2018-04-10.
    cb: cb1 full. g (under ca2): g1 full.
    """
    return zones() + [
        party_org("p-ca", "branch", "ca"),
        member("f1", "ca"), member("f2", "ca"), member("f3", "ca"), member("f4", "ca"),
        member("p1", "ca", stage="probationary", admitted_on=D("2018-03-01")),
        not_admitted("a1", "ca", "applicant", "2017-01-01"),
        member("gone", "ca"), status_changed("gone", "ca", "active", "transferred_out", "2018-05-01"),
        member("mover", "ca"), transfer_completed("t-mover", "mover", "ca", "cb", "2018-04-10"),
        member("cb1", "cb"), member("g1", "g"),
        linked("l-17", "f1", "h-17", "ca", "2018-01-15"), linked("l-7", "f1", "h-7", "ca", "2018-01-15"),
    ]


def view_of(events) -> MembershipView:
    view = MembershipView()
    view.apply(list(events))
    return view


@pytest.fixture
def view():
    return view_of(world())


def publishable(events):
    """Every domain event must be something the catalog lets activities publish."""
    for e in events:
        CATALOG.new_event(e.type, e.data, source="activities", org_unit_id=e.org_unit_id)
    return events


def scheduled(view, kind="members_meeting", unit_id="ca", on=date(2018, 6, 15), series=None, session_no=None,
              activity_id="a-1"):
    command = {"kind": kind, "title": f"{kind} {on.isoformat()}", "org_unit_id": unit_id, "scheduled_for": on}
    if series:
        command["series"] = series
    activity, events = domain.schedule_activity(activity_id, command, view, session_no)
    publishable(events)
    return activity


def record(activity, view, attendees, held_on=date(2018, 6, 15), absentees=(), speakers=(), minutes="纪要",
           today=TODAY):
    command = {"held_on": held_on, "attendee_ids": list(attendees), "absentees": list(absentees),
               "speakers": list(speakers), "minutes": minutes}
    held, events = domain.record_activity(activity, command, view, today)
    publishable(events)
    return held, events


# -- scheduling, recording, cancelling ----------------------------------------------------

def test_schedule_names_a_known_unit_and_emits_activity_scheduled(view):
    activity, events = domain.schedule_activity(
        "a-1", {"kind": "theme_day", "title": "主题党日", "org_unit_id": "ca", "scheduled_for": date(2018, 7, 1)},
        view, None)
    assert (activity.status, activity.series, activity.session_no) == ("scheduled", None, None)
    assert [e.type for e in publishable(events)] == ["activity_scheduled"]
    assert events[0].org_unit_id == "ca" and events[0].data["scheduled_for"] == date(2018, 7, 1)
    with pytest.raises(NotFound) as info:
        domain.schedule_activity("a-2", {"kind": "theme_day", "title": "x", "org_unit_id": "nowhere",
                                         "scheduled_for": date(2018, 7, 1)}, view, None)
    assert "org_unit_id" in info.value.errors


def test_series_session_numbers_come_from_the_caller(view):
    fifth = scheduled(view, kind="lecture", unit_id="wgz", series="小城论剑", session_no=5)
    assert (fifth.series, fifth.session_no) == ("小城论剑", 5)
    # without a series a session number means nothing
    plain = scheduled(view, kind="theme_day", session_no=5)
    assert (plain.series, plain.session_no) == (None, None)


def test_every_kind_can_be_scheduled_and_held(view):
    from lianxin.catalog.activities import ACTIVITY_KINDS
    for kind in ACTIVITY_KINDS:
        series = "小城论剑" if kind == "lecture" else None
        activity = scheduled(view, kind=kind, series=series, session_no=1 if series else None)
        held, events = record(activity, view, ["f1", "f2", "f3"])
        assert held.status == "held" and events[0].data["kind"] == kind


def test_record_keeps_date_attendees_absentees_speakers_and_minutes(view):
    activity = scheduled(view, kind="party_lesson")
    held, events = record(activity, view, ["f1", "f2", "p1", "f1"],
                          absentees=[{"member_id": "f3", "reason": "病假"}],
                          speakers=[{"member_id": "f4", "name": "f4", "role": "party_secretary"},
                                    {"member_id": None, "name": "王教授", "role": "guest"}],
                          minutes="学习党章")
    assert held.status == "held" and held.held_on == date(2018, 6, 15)
    assert held.attendee_ids == ("f1", "f2", "p1")                 # repeats once, order kept
    assert held.absentees == ({"member_id": "f3", "reason": "病假"},)
    assert held.speakers == ({"member_id": "f4", "name": "f4", "role": "party_secretary"},
                             {"member_id": None, "name": "王教授", "role": "guest"})
    assert held.minutes == "学习党章" and held.expected is None        # only a members' meeting has a quorum
    [event] = events
    assert event.type == "activity_held" and event.org_unit_id == "ca"
    assert event.data["attendee_ids"] == ["f1", "f2", "p1"] and event.data["expected"] is None


def test_members_meeting_at_exactly_half_is_refused_with_the_reason(view):
    # voting (full) members of ca on 2018-06-15: f1..f4 (gone and mover have left, p1 and a1 do not vote)
    activity = scheduled(view)
    with pytest.raises(Conflict) as info:
        record(activity, view, ["f1", "f2"])
    assert "more than half" in info.value.detail
    assert info.value.errors == {"attendee_ids": ["below quorum: 2 of 4 voting members"]}


def test_non_voting_attendees_do_not_make_the_quorum(view):
    activity = scheduled(view)
    with pytest.raises(Conflict) as info:
        record(activity, view, ["f1", "f2", "p1", "a1"])
    assert info.value.errors["attendee_ids"] == ["below quorum: 2 of 4 voting members"]


def test_members_meeting_with_more_than_half_is_held_with_expected_voting_count(view):
    held, events = record(scheduled(view), view, ["f1", "f2", "f3", "p1"])
    assert held.status == "held" and held.expected == 4
    assert events[0].data["expected"] == 4


def test_quorum_counts_the_members_on_the_day_held(view):
    # on 2018-04-05 gone and mover were still in ca: 6 voting, 3 is not enough, 4 is
    activity = scheduled(view, on=date(2018, 4, 5))
    with pytest.raises(Conflict):
        record(activity, view, ["f1", "f2", "gone"], held_on=date(2018, 4, 5))
    held, _ = record(activity, view, ["f1", "f2", "gone", "mover"], held_on=date(2018, 4, 5))
    assert held.expected == 6


def test_members_meeting_of_a_zone_counts_its_whole_subtree(view):
    # za holds ca and ca2 (with grid g): f1..f4 and g1 vote on 2018-06-15
    activity = scheduled(view, unit_id="za")
    with pytest.raises(Conflict):
        record(activity, view, ["f1", "g1"])
    held, _ = record(activity, view, ["f1", "f2", "g1"])
    assert held.expected == 5


def test_attendee_not_a_member_of_the_unit_is_refused_naming_the_field_and_ids(view):
    activity = scheduled(view, kind="theme_day")
    with pytest.raises(InvalidInput) as info:
        record(activity, view, ["f1", "cb1"])
    assert list(info.value.errors) == ["attendee_ids"]
    message = info.value.errors["attendee_ids"][0]
    assert "cb1" in message and "f1" not in message.split(":")[-1]
    # Someone nobody has heard of may have been registered a moment ago: not
    # "not a member" but "not known yet" (retried on intake, 404 over HTTP).
    with pytest.raises(NotFound) as unknown:
        record(activity, view, ["f1", "nobody"])
    assert "nobody" in unknown.value.errors["attendee_ids"][0]


def test_absentee_and_speaker_not_members_are_refused_naming_each_field(view):
    activity = scheduled(view, kind="theme_day")
    with pytest.raises(InvalidInput) as info:
        record(activity, view, ["f1"], absentees=[{"member_id": "cb1", "reason": "外出"}],
               speakers=[{"member_id": "g1", "name": "g1", "role": "member"}])
    assert set(info.value.errors) == {"absentees", "speakers"}
    assert "cb1" in info.value.errors["absentees"][0]
    assert "g1" in info.value.errors["speakers"][0]


def test_someone_both_attending_and_absent_is_refused(view):
    activity = scheduled(view, kind="theme_day")
    with pytest.raises(InvalidInput) as info:
        record(activity, view, ["f1", "f2"], absentees=[{"member_id": "f2", "reason": "外出"}])
    assert "f2" in info.value.errors["absentees"][0]


def test_an_outsider_speaker_without_member_id_is_accepted(view):
    held, _ = record(scheduled(view, kind="lecture", unit_id="wgz", series="小城论剑", session_no=1), view,
                     ["f1"], speakers=[{"member_id": None, "name": "区委组织部 李部长", "role": "department_head"}])
    assert held.speakers[0]["member_id"] is None


def test_a_member_transferred_out_before_held_on_is_a_stranger(view):
    activity = scheduled(view, kind="theme_day")
    with pytest.raises(InvalidInput) as info:
        record(activity, view, ["f1", "gone"])
    assert "gone" in info.value.errors["attendee_ids"][0]
    # before leaving, the same member belonged
    early = scheduled(view, kind="theme_day", on=date(2018, 4, 20))
    held, _ = record(early, view, ["f1", "gone"], held_on=date(2018, 4, 20))
    assert held.attendee_ids == ("f1", "gone")


def test_a_member_transferred_to_another_community_attends_there_from_the_day_received(view):
    with pytest.raises(InvalidInput):
        record(scheduled(view, kind="theme_day"), view, ["mover"])
    held, _ = record(scheduled(view, kind="theme_day", unit_id="cb"), view, ["mover", "cb1"])
    assert held.attendee_ids == ("mover", "cb1")


def test_held_on_in_the_future_is_refused(view):
    with pytest.raises(InvalidInput) as info:
        record(scheduled(view, kind="theme_day"), view, ["f1"], held_on=date(2018, 7, 1))
    assert list(info.value.errors) == ["held_on"]


def test_held_twice_and_cancel_after_held_are_conflicts(view):
    held, _ = record(scheduled(view, kind="theme_day"), view, ["f1"])
    with pytest.raises(Conflict):
        record(held, view, ["f1"])
    with pytest.raises(Conflict):
        domain.cancel_activity(held, {"cancelled_on": TODAY, "reason": "x"}, TODAY)


def test_cancel_records_date_and_reason_then_cannot_be_held(view):
    activity = scheduled(view, kind="committee_meeting")
    cancelled, events = domain.cancel_activity(activity, {"cancelled_on": date(2018, 6, 14), "reason": "汛期"},
                                               TODAY)
    assert (cancelled.status, cancelled.cancelled_on, cancelled.cancel_reason) == \
        ("cancelled", date(2018, 6, 14), "汛期")
    assert [e.type for e in publishable(events)] == ["activity_cancelled"]
    with pytest.raises(Conflict):
        record(cancelled, view, ["f1"])
    with pytest.raises(Conflict):
        domain.cancel_activity(cancelled, {"cancelled_on": TODAY, "reason": "again"}, TODAY)
    with pytest.raises(InvalidInput):
        domain.cancel_activity(activity, {"cancelled_on": date(2018, 7, 1), "reason": "x"}, TODAY)


# -- periods and obligations -----------------------------------------------------------------

@pytest.mark.parametrize("day, frequency, label, start, end", [
    (date(2018, 6, 12), "monthly", "2018-06", date(2018, 6, 1), date(2018, 6, 30)),
    (date(2018, 12, 31), "monthly", "2018-12", date(2018, 12, 1), date(2018, 12, 31)),
    (date(2019, 1, 1), "monthly", "2019-01", date(2019, 1, 1), date(2019, 1, 31)),
    (date(2020, 2, 10), "monthly", "2020-02", date(2020, 2, 1), date(2020, 2, 29)),     # leap
    (date(2019, 2, 28), "monthly", "2019-02", date(2019, 2, 1), date(2019, 2, 28)),
    (date(2000, 2, 29), "monthly", "2000-02", date(2000, 2, 1), date(2000, 2, 29)),     # leap (÷400)
    (date(2100, 2, 1), "monthly", "2100-02", date(2100, 2, 1), date(2100, 2, 28)),      # not leap (÷100)
    (date(2018, 1, 1), "quarterly", "2018-Q1", date(2018, 1, 1), date(2018, 3, 31)),
    (date(2018, 3, 31), "quarterly", "2018-Q1", date(2018, 1, 1), date(2018, 3, 31)),
    (date(2018, 4, 1), "quarterly", "2018-Q2", date(2018, 4, 1), date(2018, 6, 30)),
    (date(2018, 9, 30), "quarterly", "2018-Q3", date(2018, 7, 1), date(2018, 9, 30)),
    (date(2018, 12, 31), "quarterly", "2018-Q4", date(2018, 10, 1), date(2018, 12, 31)),
    (date(2018, 1, 1), "yearly", "2018", date(2018, 1, 1), date(2018, 12, 31)),
    (date(2018, 12, 31), "yearly", "2018", date(2018, 1, 1), date(2018, 12, 31)),
])
def test_period_of(day, frequency, label, start, end):
    assert domain.period_of(day, frequency) == Period(label, start, end)


def test_period_of_an_unknown_frequency_is_an_error():
    with pytest.raises(ValueError):
        domain.period_of(date(2018, 1, 1), "weekly")


def test_periods_between_covers_every_overlapping_period_across_year_ends():
    assert [p.label for p in domain.periods_between(date(2018, 11, 15), date(2019, 2, 1), "monthly")] == \
        ["2018-11", "2018-12", "2019-01", "2019-02"]
    assert [p.label for p in domain.periods_between(date(2018, 12, 31), date(2019, 4, 1), "quarterly")] == \
        ["2018-Q4", "2019-Q1", "2019-Q2"]
    assert [p.label for p in domain.periods_between(date(2017, 7, 1), date(2019, 1, 1), "yearly")] == \
        ["2017", "2018", "2019"]
    feb = domain.periods_between(date(2020, 1, 31), date(2020, 3, 1), "monthly")
    assert [(p.start, p.end) for p in feb] == [(date(2020, 1, 1), date(2020, 1, 31)),
                                               (date(2020, 2, 1), date(2020, 2, 29)),
                                               (date(2020, 3, 1), date(2020, 3, 31))]
    assert domain.periods_between(date(2018, 5, 5), date(2018, 5, 5), "monthly") == \
        [domain.period_of(date(2018, 5, 5), "monthly")]
    assert domain.periods_between(date(2018, 5, 6), date(2018, 5, 5), "monthly") == []
    # consecutive, no gaps, no overlaps
    months = domain.periods_between(date(2016, 1, 1), date(2020, 12, 31), "monthly")
    assert len(months) == 60
    assert all((b.start - a.end).days == 1 for a, b in pairwise(months))


def test_default_frequencies_are_the_issues():
    assert domain.frequencies_for("ca", {}) == DEFAULT_FREQUENCIES == {
        "theme_day": "monthly", "members_meeting": "quarterly", "committee_meeting": "monthly",
        "group_meeting": "monthly", "party_lesson": "quarterly", "org_life_meeting": "yearly",
        "member_appraisal": "yearly"}


def test_frequencies_for_a_unit_override_the_defaults_and_none_drops_a_kind():
    rules = {("ca", "theme_day"): "quarterly", (None, "theme_day"): "yearly",
             (None, "lecture"): "quarterly", ("cb", "group_meeting"): None, (None, "party_lesson"): None,
             ("ca", "party_lesson"): "monthly"}
    ca, cb, other = (domain.frequencies_for(u, rules) for u in ("ca", "cb", "za"))
    assert ca["theme_day"] == "quarterly"          # the unit's own rule beats the general one
    assert cb["theme_day"] == other["theme_day"] == "yearly"
    assert ca["lecture"] == "quarterly"            # a kind not in the defaults can become due
    assert "group_meeting" not in cb and cb["members_meeting"] == "quarterly"
    assert other["group_meeting"] == "monthly"
    assert "party_lesson" not in cb and "party_lesson" not in other and ca["party_lesson"] == "monthly"
    # whatever order the rules come in
    assert domain.frequencies_for("ca", dict(reversed(list(rules.items())))) == ca


HELD = {"theme_day": [date(2018, 1, 10), date(2018, 3, 5), date(2018, 3, 20)],
        "members_meeting": [date(2017, 12, 20)]}
FREQ = {"theme_day": "monthly", "members_meeting": "quarterly", "org_life_meeting": "yearly"}


def test_compliance_says_what_was_due_and_held_per_period():
    rows = domain.compliance("ca", FREQ, HELD, date(2018, 1, 1), date(2018, 3, 31))
    assert [(r.kind, r.period.label, r.held, r.missed) for r in rows] == [
        ("members_meeting", "2018-Q1", 0, True),
        ("org_life_meeting", "2018", 0, True),
        ("theme_day", "2018-01", 1, False), ("theme_day", "2018-02", 0, True), ("theme_day", "2018-03", 2, False),
    ]
    assert all(r.org_unit_id == "ca" for r in rows)


def missed(today, since=date(2018, 1, 1), frequencies=FREQ, held=HELD):
    events = domain.missed_obligations("ca", frequencies, held, since, today)
    publishable(events)
    return [(e.data["kind"], e.data["period"]) for e in events]


def test_missed_obligations_only_for_closed_periods():
    assert missed(date(2018, 1, 1)) == []
    assert missed(date(2018, 2, 28)) == []                          # February still open
    assert missed(date(2018, 3, 1)) == [("theme_day", "2018-02")]
    assert missed(date(2018, 3, 31)) == [("theme_day", "2018-02")]   # Q1 closes at the end of the 31st
    assert missed(date(2018, 4, 1)) == [("members_meeting", "2018-Q1"), ("theme_day", "2018-02")]
    assert missed(date(2019, 1, 1)) == [("members_meeting", "2018-Q1"), ("members_meeting", "2018-Q2"),
                                        ("members_meeting", "2018-Q3"), ("members_meeting", "2018-Q4"),
                                        ("org_life_meeting", "2018")] + \
        [("theme_day", f"2018-{m:02d}") for m in range(2, 13) if m != 3]


def test_missed_obligations_carry_the_period_and_nothing_before_since():
    events = domain.missed_obligations("ca", {"theme_day": "monthly"}, {}, date(2018, 5, 1), date(2018, 7, 1))
    assert [(e.type, e.org_unit_id, e.data) for e in events] == [
        ("obligation_missed", "ca", {"org_unit_id": "ca", "kind": "theme_day", "period": "2018-05",
                                     "period_start": date(2018, 5, 1), "period_end": date(2018, 5, 31)}),
        ("obligation_missed", "ca", {"org_unit_id": "ca", "kind": "theme_day", "period": "2018-06",
                                     "period_start": date(2018, 6, 1), "period_end": date(2018, 6, 30)}),
    ]


def test_set_obligation_names_a_known_unit(view):
    [event] = publishable(domain.set_obligation({"kind": "theme_day", "frequency": None, "org_unit_id": "ca"}, view))
    assert (event.type, event.data["frequency"], event.org_unit_id) == ("obligation_rule_set", None, "ca")
    [default] = domain.set_obligation({"kind": "theme_day", "frequency": "quarterly"}, view)
    assert default.org_unit_id is None and default.data["org_unit_id"] is None
    with pytest.raises(NotFound):
        domain.set_obligation({"kind": "theme_day", "frequency": "monthly", "org_unit_id": "nowhere"}, view)


# -- member appraisal ------------------------------------------------------------------------

def grade(view, member_id, grade_="qualified", year=2018, sheet=None, today=TODAY):
    updated, events = domain.grade_member(sheet, {"member_id": member_id, "year": year, "grade": grade_},
                                          view, today)
    publishable(events)
    return updated, events


def test_a_grade_is_kept_on_the_units_sheet_for_the_year(view):
    sheet, events = grade(view, "f1", "excellent")
    assert (sheet.id, sheet.org_unit_id, sheet.year, sheet.grades) == ("ca:2018", "ca", 2018, {"f1": "excellent"})
    assert events[0].data == {"member_id": "f1", "org_unit_id": "ca", "year": 2018, "grade": "excellent"}


def test_a_second_grade_for_the_same_member_and_year_is_refused(view):
    sheet, _ = grade(view, "f1", "qualified")
    with pytest.raises(Conflict) as info:
        grade(view, "f1", "excellent", sheet=sheet)
    assert "member_id" in info.value.errors and "already" in info.value.detail
    assert sheet.grades == {"f1": "qualified"}
    # another year is another sheet
    sheet_2017, _ = grade(view, "f1", "excellent", year=2017)
    assert sheet_2017.id == "ca:2017"


def test_probationary_members_take_part_but_are_not_graded(view):
    with pytest.raises(Conflict) as info:
        grade(view, "p1")
    assert "probationary" in info.value.detail and info.value.errors == {"member_id": ["is probationary"]}


def test_applicants_are_not_graded(view):
    with pytest.raises(Conflict) as info:
        grade(view, "a1")
    assert info.value.errors == {"member_id": ["is applicant"]}


def test_a_member_not_yet_a_member_that_year_is_refused(view):
    # p1 was admitted on 2018-03-01: not a member at the end of 2017
    with pytest.raises(Conflict) as info:
        grade(view, "p1", year=2017)
    assert info.value.errors == {"member_id": ["not a member then"]}
    # gone left on 2018-05-01: not a member at the appraisal of 2018
    with pytest.raises(Conflict):
        grade(view, "gone")


def test_unknown_member_and_future_year(view):
    with pytest.raises(NotFound):
        grade(view, "nobody")
    with pytest.raises(InvalidInput) as info:
        grade(view, "f1", year=2019)
    assert list(info.value.errors) == ["year"]


def test_an_appraisal_during_the_year_counts_on_today(view):
    # the 2018 appraisal before the year's end uses today's facts: f1 is full and in ca
    sheet, _ = grade(view, "f1", today=date(2018, 6, 30))
    assert sheet.org_unit_id == "ca"


def unit_with_full_members(n, probationary=1):
    events = zones() + [member(f"m{i}", "cb") for i in range(n)]
    events += [member(f"prob{i}", "cb", stage="probationary", admitted_on=D("2018-01-15"))
               for i in range(probationary)]
    return view_of(events)


@pytest.mark.parametrize("full, allowed", [(3, 1), (6, 2), (7, 2), (2, 0)])
def test_excellent_is_for_at_most_a_third_of_the_graded_members(full, allowed):
    # probationary members are not graded, so they do not widen the third
    view = unit_with_full_members(full, probationary=3)
    sheet = None
    for i in range(allowed):
        sheet, _ = grade(view, f"m{i}", "excellent", sheet=sheet)
    with pytest.raises(Conflict) as info:
        grade(view, f"m{allowed}", "excellent", sheet=sheet)
    assert "grade" in info.value.errors and "a third" in info.value.detail
    # the others can still be graded otherwise
    sheet, _ = grade(view, f"m{allowed}", "qualified", sheet=sheet)
    assert sum(g == "excellent" for g in sheet.grades.values()) == allowed


def test_the_third_counts_the_members_of_the_unit_on_the_appraisal_day():
    # 6 full members, one left on 2018-11-01: 5 remain at the 2018 appraisal, so 1 excellent
    view = view_of(zones() + [member(f"m{i}", "cb") for i in range(6)]
                   + [status_changed("m5", "cb", "active", "deceased", "2018-11-01")])
    sheet, _ = grade(view, "m0", "excellent", today=date(2019, 1, 15))
    with pytest.raises(Conflict):
        grade(view, "m1", "excellent", sheet=sheet, today=date(2019, 1, 15))


def test_a_member_becoming_full_during_the_year_is_graded():
    view = view_of(zones() + [member("x", "cb", stage="probationary", admitted_on=D("2017-03-01")),
                              stage_changed("x", "cb", "probationary", "full", "2018-03-01")])
    sheet, _ = grade(view, "x", today=date(2018, 12, 31))
    assert sheet.grades == {"x": "qualified"}
    with pytest.raises(Conflict):
        grade(view, "x", year=2017, today=date(2018, 12, 31))


def test_an_empty_sheet_starts_the_year():
    sheet = AppraisalSheet("ca", 2018)
    assert (sheet.id, sheet.grades, sheet.version) == ("ca:2018", {}, 0)


# -- small deeds ----------------------------------------------------------------------------------

def deed(view, member_id="f1", done_on=date(2018, 6, 12), today=TODAY, points=1, **extra):
    command = {"member_id": member_id, "done_on": done_on, "category": "patrol", "description": "帮扶独居老人",
               **extra}
    recorded, events = domain.record_deed("d-1", command, view, today, points)
    publishable(events)
    return recorded, events


def test_a_deed_recorded_by_the_member_defaults_recorded_by_to_the_member(view):
    recorded, events = deed(view)
    assert (recorded.member_id, recorded.recorded_by, recorded.org_unit_id, recorded.household_id) == \
        ("f1", "f1", "ca", None)
    assert recorded.status == "recorded" and recorded.points == 1
    assert events[0].type == "deed_recorded" and events[0].data["recorded_by"] == "f1"


def test_a_deed_recorded_by_the_community_for_a_household_keeps_who_recorded_it(view):
    recorded, events = deed(view, recorded_by="ca-office", household_id="h-17", points=3)
    assert (recorded.recorded_by, recorded.household_id, recorded.points) == ("ca-office", "h-17", 3)
    assert events[0].data["household_id"] == "h-17" and events[0].data["points"] == 3


def test_a_deed_for_a_household_the_member_does_not_look_after_is_not_found(view):
    with pytest.raises(NotFound) as info:
        deed(view, "f2", household_id="h-17")
    assert list(info.value.errors) == ["household_id"]
    with pytest.raises(NotFound):
        deed(view, "f1", household_id="h-17", done_on=date(2018, 1, 14))  # before the link


def test_a_deed_lands_in_the_unit_of_the_member_on_done_on(view):
    assert deed(view, "mover", done_on=date(2018, 4, 9))[0].org_unit_id == "ca"
    assert deed(view, "mover", done_on=date(2018, 4, 10))[0].org_unit_id == "cb"


def test_a_deed_in_the_future_is_refused(view):
    with pytest.raises(InvalidInput) as info:
        deed(view, done_on=date(2018, 7, 1))
    assert info.value.errors == {"done_on": ["is in the future"]}
    assert deed(view, done_on=TODAY)[0].done_on == TODAY


def test_a_deed_for_a_member_transferred_out_on_done_on_is_refused(view):
    with pytest.raises(Conflict) as info:
        deed(view, "gone", done_on=date(2018, 5, 1))
    assert info.value.errors == {"member_id": ["not an active member on done_on"]}
    assert deed(view, "gone", done_on=date(2018, 4, 30))[0].org_unit_id == "ca"


def test_a_deed_for_an_unknown_member_or_before_membership_is_refused(view):
    with pytest.raises(NotFound):
        deed(view, "nobody")
    with pytest.raises(Conflict):
        deed(view, "p1", done_on=date(2018, 2, 28))


def test_points_default_to_one_and_nothing_for_logins_or_time_online():
    assert domain.deed_points("anything", {}, 0) == 1
    assert domain.deed_points("anything", {}, 50) == 1                 # no cap without a rule
    rules = {"login": {"points": 5}, "online_time": {"points": 5, "weekly_cap": 100}, "patrol": {"points": 2}}
    assert domain.deed_points("login", rules, 0) == 0
    assert domain.deed_points("online_time", rules, 0) == 0
    assert domain.deed_points("patrol", rules, 10) == 2


def test_points_with_a_weekly_cap_partially_used():
    rules = {"patrol": {"points": 2, "weekly_cap": 3}, "visit": {"weekly_cap": 2}}
    assert [domain.deed_points("patrol", rules, earned) for earned in (0, 1, 2, 3, 4)] == [2, 2, 1, 0, 0]
    assert [domain.deed_points("visit", rules, earned) for earned in (0, 1, 2)] == [1, 1, 0]


def test_iso_weeks_and_their_bounds():
    assert domain.iso_week(date(2018, 6, 12)) == "2018-W24"
    assert domain.week_bounds("2018-W24") == (date(2018, 6, 11), date(2018, 6, 17))
    assert domain.iso_week(date(2018, 12, 31)) == "2019-W01"                      # the ISO year
    assert domain.week_bounds("2019-W01") == (date(2018, 12, 31), date(2019, 1, 6))
    assert domain.iso_week(date(2021, 1, 3)) == "2020-W53"


def test_verify_or_dispute_a_deed_once(view):
    recorded, _ = deed(view)
    verified, events = domain.decide_deed(recorded, {"decision": "verified", "decided_on": date(2018, 6, 13),
                                                     "note": None}, TODAY)
    assert (verified.status, verified.decided_on) == ("verified", date(2018, 6, 13))
    assert [e.type for e in publishable(events)] == ["deed_verified"]
    with pytest.raises(Conflict):
        domain.decide_deed(verified, {"decision": "disputed", "decided_on": TODAY}, TODAY)
    disputed, events = domain.decide_deed(recorded, {"decision": "disputed", "decided_on": TODAY,
                                                     "note": "查无此事"}, TODAY)
    assert (disputed.status, disputed.note) == ("disputed", "查无此事")
    assert [e.type for e in publishable(events)] == ["deed_disputed"]
    with pytest.raises(Conflict):
        domain.decide_deed(disputed, {"decision": "disputed", "decided_on": TODAY}, TODAY)


def test_a_decision_before_the_deed_or_in_the_future_is_refused(view):
    recorded, _ = deed(view, done_on=date(2018, 6, 12))
    with pytest.raises(InvalidInput) as info:
        domain.decide_deed(recorded, {"decision": "verified", "decided_on": date(2018, 6, 11)}, TODAY)
    assert list(info.value.errors) == ["decided_on"]
    with pytest.raises(InvalidInput):
        domain.decide_deed(recorded, {"decision": "verified", "decided_on": date(2018, 7, 1)}, TODAY)
    same_day, _ = domain.decide_deed(recorded, {"decision": "verified", "decided_on": date(2018, 6, 12)}, TODAY)
    assert same_day.status == "verified"


# -- cases ----------------------------------------------------------------------------------------------

def opened(view, opened_on=date(2018, 5, 1), kind="difficult_matter"):
    case, events = domain.open_case("c-1", {"kind": kind, "org_unit_id": "ca", "opened_on": opened_on,
                                            "summary": "小区路灯不亮", "owner": "f1", "team": "party_member",
                                            "campaign": "小城冲锋号"}, view, TODAY)
    publishable(events)
    return case


def test_case_open_start_resolve(view):
    case = opened(view)
    assert (case.status, case.owner, case.team, case.campaign) == ("opened", "f1", "party_member", "小城冲锋号")
    started, events = domain.start_case(case, {"started_on": date(2018, 5, 3), "owner": "f2"}, TODAY)
    assert (started.status, started.owner, started.started_on) == ("in_progress", "f2", date(2018, 5, 3))
    assert [e.type for e in publishable(events)] == ["case_started"]
    resolved, events = domain.resolve_case(started, {"resolved_on": date(2018, 5, 20), "outcome": "已修复"}, TODAY)
    assert (resolved.status, resolved.resolved_on, resolved.outcome) == ("resolved", date(2018, 5, 20), "已修复")
    assert [e.type for e in publishable(events)] == ["case_resolved"]
    assert events[0].data["kind"] == "difficult_matter"


def test_a_case_can_be_resolved_straight_from_opened(view):
    resolved, _ = domain.resolve_case(opened(view, kind="dispute"),
                                      {"resolved_on": date(2018, 5, 1), "outcome": "调解成功"}, TODAY)
    assert resolved.status == "resolved"


def test_resolve_before_opened_or_started_is_refused(view):
    case = opened(view)
    with pytest.raises(InvalidInput) as info:
        domain.resolve_case(case, {"resolved_on": date(2018, 4, 30), "outcome": "x"}, TODAY)
    assert list(info.value.errors) == ["resolved_on"] and "opened" in info.value.errors["resolved_on"][0]
    started, _ = domain.start_case(case, {"started_on": date(2018, 5, 10)}, TODAY)
    with pytest.raises(InvalidInput) as info:
        domain.resolve_case(started, {"resolved_on": date(2018, 5, 9), "outcome": "x"}, TODAY)
    assert "started" in info.value.errors["resolved_on"][0]
    with pytest.raises(InvalidInput):
        domain.resolve_case(started, {"resolved_on": date(2018, 7, 1), "outcome": "x"}, TODAY)
    with pytest.raises(InvalidInput):
        domain.start_case(case, {"started_on": date(2018, 4, 1)}, TODAY)


def test_start_twice_and_close_after_resolve_are_conflicts(view):
    started, _ = domain.start_case(opened(view), {"started_on": date(2018, 5, 3)}, TODAY)
    assert started.owner == "f1"                          # kept when no new owner is named
    with pytest.raises(Conflict):
        domain.start_case(started, {"started_on": date(2018, 5, 4)}, TODAY)
    resolved, _ = domain.resolve_case(started, {"resolved_on": date(2018, 5, 20), "outcome": "ok"}, TODAY)
    with pytest.raises(Conflict):
        domain.close_case(resolved, {"closed_on": date(2018, 5, 21), "reason": "x"}, TODAY)
    with pytest.raises(Conflict):
        domain.resolve_case(resolved, {"resolved_on": date(2018, 5, 21), "outcome": "again"}, TODAY)
    with pytest.raises(Conflict):
        domain.start_case(resolved, {"started_on": date(2018, 5, 21)}, TODAY)


def test_close_an_open_case_then_nothing_more(view):
    closed, events = domain.close_case(opened(view), {"closed_on": date(2018, 5, 2), "reason": "重复登记"}, TODAY)
    assert (closed.status, closed.close_reason) == ("closed", "重复登记")
    assert [e.type for e in publishable(events)] == ["case_closed"]
    with pytest.raises(Conflict):
        domain.resolve_case(closed, {"resolved_on": date(2018, 5, 3), "outcome": "x"}, TODAY)
    with pytest.raises(Conflict):
        domain.close_case(closed, {"closed_on": date(2018, 5, 3), "reason": "x"}, TODAY)


def test_open_a_case_in_the_future_or_an_unknown_unit_is_refused(view):
    with pytest.raises(InvalidInput):
        opened(view, opened_on=date(2018, 7, 1))
    with pytest.raises(NotFound):
        domain.open_case("c-2", {"kind": "dispute", "org_unit_id": "nowhere", "opened_on": TODAY,
                                 "summary": "x"}, view, TODAY)

