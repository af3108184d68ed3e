"""Activities use cases over a real ActivitiesStore on a fresh embedded database,
its membership view fed with membership's events."""
from datetime import date
from uuid import uuid4

import pytest

from lianxin.catalog import CATALOG
from lianxin.consumer import Result
from lianxin.envelope import encode
from lianxin.errors import Conflict, InvalidInput, NotFound
from lianxin.store import ServiceDb
from services.activities import handlers
from services.activities.handlers import no_wait
from services.activities.store import ActivitiesStore
from tests.support.fakes import fresh_database
from tests.unit.test_activities_rules import world
from tests.unit.test_reporting_domain import member

TODAY = date(2018, 6, 30)
POINTS = {"patrol": {"points": 2, "weekly_cap": 3}}


def new_store(notified, obligations_from=date(2018, 1, 1), db=None):
    db = db or ServiceDb(fresh_database(), ActivitiesStore.OUTBOX_COLLECTIONS, notify=notified)
    return ActivitiesStore(db, POINTS, obligations_from)


@pytest.fixture
def store(notified):
    store = new_store(notified)
    store.apply_membership_events(world())
    return store


def pending(store) -> list[str]:
    """The types of the events recorded and not yet published (activities' outbox)."""
    return [envelope["event_type"] for _, _, envelope, _ in store.db.pending_events()]


def intake_event(event_type, data, event_id=None):
    def plain(value):
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value
    return CATALOG.validate_intake(encode({
        "event_id": event_id or str(uuid4()), "event_type": event_type, "schema_version": 1,
        "occurred_at": "2018-06-12T09:30:00+08:00", "source": "grid-app",
        "org_unit_id": data.get("org_unit_id"), "data": plain(data),
    }))


def outcomes(results):
    return [r.outcome for r in results]


def lecture(n, series="小城论剑", **extra):
    return {"kind": "lecture", "series": series, "title": f"{series} 第{n}期", "org_unit_id": "wgz",
            "scheduled_for": date(2018, 3, n), **extra}


def deed(member_id="f1", done_on=date(2018, 6, 12), category="patrol", **extra):
    return {"member_id": member_id, "done_on": done_on, "category": category, "description": "帮扶独居老人",
            **extra}


def held(kind, on, attendees=("f1", "f2", "f3", "f4"), unit_id="ca", **extra):
    return {"kind": kind, "title": f"{kind} {on}", "org_unit_id": unit_id, "held_on": on,
            "attendee_ids": list(attendees), "absentees": [], "speakers": [], "minutes": None, **extra}


# -- activities ----------------------------------------------------------------------------

def test_schedule_in_a_series_numbers_the_sessions(store):
    numbers = [handlers.schedule_activity(store, lecture(n), settle=no_wait)["body"]["session_no"]
               for n in (1, 2, 3)]
    assert numbers == [1, 2, 3]
    other = handlers.schedule_activity(store, lecture(4, series="乡村头雁自讲堂"), settle=no_wait)
    assert other["body"]["session_no"] == 1
    plain = handlers.schedule_activity(store, {"kind": "theme_day", "series": None, "title": "主题党日",
                                               "org_unit_id": "ca", "scheduled_for": date(2018, 7, 1)},
                                       settle=no_wait)
    assert plain["body"]["session_no"] is None
    assert pending(store) == ["activity_scheduled"] * 5


def test_a_repeated_schedule_keeps_its_session_number(store):
    first = handlers.schedule_activity(store, lecture(1, id="s-1"), settle=no_wait)
    again = handlers.schedule_activity(store, lecture(1, id="s-1"), settle=no_wait)
    assert (first["status"], again["status"]) == (201, 200)
    assert again["body"] == first["body"] and again["body"]["session_no"] == 1
    assert handlers.schedule_activity(store, lecture(2), settle=no_wait)["body"]["session_no"] == 2


def test_client_ids_are_idempotent_same_body_200_other_body_409(store):
    body = {"id": "act-1", "kind": "theme_day", "title": "主题党日", "org_unit_id": "ca",
            "scheduled_for": date(2018, 7, 1)}
    first = handlers.schedule_activity(store, dict(body), settle=no_wait)
    again = handlers.schedule_activity(store, dict(body), settle=no_wait)
    assert (first["status"], again["status"]) == (201, 200) and again["body"] == first["body"]
    with pytest.raises(Conflict) as info:
        handlers.schedule_activity(store, {**body, "title": "另一个"}, settle=no_wait)
    assert info.value.status == 409 and "id" in info.value.errors
    assert pending(store) == ["activity_scheduled"]
    assert handlers.get_activity(store, "act-1")["body"]["title"] == "主题党日"


def test_schedule_record_and_get(store):
    created = handlers.schedule_activity(store, {"id": "mm", "kind": "members_meeting", "title": "党员大会",
                                                 "org_unit_id": "ca", "scheduled_for": date(2018, 6, 15)},
                                         settle=no_wait)
    assert created["body"]["status"] == "scheduled"
    answer = handlers.record_activity(store, "mm", {
        "held_on": date(2018, 6, 15), "attendee_ids": ["f1", "f2", "f3"],
        "absentees": [{"member_id": "f4", "reason": "住院"}],
        "speakers": [{"member_id": "f1", "name": "f1", "role": "party_secretary"}], "minutes": "选举"},
        TODAY, settle=no_wait)
    assert answer["status"] == 200
    body = handlers.get_activity(store, "mm")["body"]
    assert (body["status"], body["held_on"], body["expected"], body["minutes"]) == \
        ("held", "2018-06-15", 4, "选举")
    assert body["absentees"] == [{"member_id": "f4", "reason": "住院"}]
    assert pending(store) == ["activity_scheduled", "activity_held"]
    with pytest.raises(Conflict):
        handlers.record_activity(store, "mm", {"held_on": date(2018, 6, 16), "attendee_ids": ["f1"]}, TODAY,
                                 settle=no_wait)
    with pytest.raises(Conflict):
        handlers.cancel_activity(store, "mm", {"cancelled_on": TODAY, "reason": "x"}, TODAY)
    with pytest.raises(NotFound):
        handlers.get_activity(store, "nope")
    assert pending(store) == ["activity_scheduled", "activity_held"]


def test_intake_activity_held_is_one_document_with_both_events(store, notified):
    event = intake_event("activity_held", held("theme_day", date(2018, 6, 1)))
    assert outcomes(handlers.intake(store, [event], TODAY)) == ["ok"]
    docs = list(store.db["activities"].find())
    assert len(docs) == 1 and docs[0]["_id"] == event.event_id and docs[0]["status"] == "held"
    assert [e["envelope"]["event_type"] for e in docs[0]["outbox"]] == ["activity_scheduled", "activity_held"]
    assert [(collection, ids, [e["event_type"] for e in events]) for collection, ids, events in notified.calls] \
        == [("activities", [event.event_id], ["activity_scheduled", "activity_held"])]
    assert outcomes(handlers.intake(store, [event], TODAY)) == ["duplicate"]
    assert store.db["activities"].count_documents({}) == 1 and len(notified.calls) == 1


def test_intake_activity_held_in_a_series_is_numbered(store):
    for n in (1, 2):
        handlers.intake(store, [intake_event("activity_held", held("lecture", date(2018, 3, n), unit_id="wgz",
                                                                   series="小城论剑"))], TODAY)
    assert sorted(d["session_no"] for d in store.db["activities"].find()) == [1, 2]


def test_intake_activity_held_below_quorum_is_rejected_with_the_reason(store):
    [result] = handlers.intake(store, [intake_event("activity_held", held("members_meeting", date(2018, 6, 1),
                                                                          attendees=["f1", "f2"]))], TODAY)
    assert result.outcome == "reject" and "more than half" in result.reason
    assert result.errors == {"attendee_ids": ["below quorum: 2 of 4 voting members"]}
    assert store.db["activities"].count_documents({}) == 0 and pending(store) == []


def test_intake_activity_held_naming_a_member_not_yet_known_is_retried_then_applied(store):
    event = intake_event("activity_held", held("theme_day", date(2018, 6, 1), attendees=["f1", "newcomer"]))
    [first] = handlers.intake(store, [event], TODAY)
    assert first.outcome == "retry"
    store.apply_membership_events([member("newcomer", "ca")])
    assert outcomes(handlers.intake(store, [event], TODAY)) == ["ok"]


def test_cancel_a_scheduled_activity(store):
    handlers.schedule_activity(store, {"id": "cm", "kind": "committee_meeting", "title": "支委会",
                                       "org_unit_id": "ca", "scheduled_for": date(2018, 6, 20)}, settle=no_wait)
    answer = handlers.cancel_activity(store, "cm", {"cancelled_on": date(2018, 6, 19), "reason": "汛期"}, TODAY)
    assert (answer["body"]["status"], answer["body"]["cancel_reason"]) == ("cancelled", "汛期")
    assert pending(store) == ["activity_scheduled", "activity_cancelled"]


# -- deeds --------------------------------------------------------------------------------------

def test_record_deed_for_an_unknown_member_is_not_found_and_intake_retries(store):
    with pytest.raises(NotFound):
        handlers.record_deed(store, deed("nobody"), TODAY, settle=no_wait)
    [result] = handlers.intake(store, [intake_event("deed_recorded", deed("nobody"))], TODAY)
    assert result == Result.retry(result.reason) and result.outcome == "retry"
    assert store.db["deeds"].count_documents({}) == 0 and pending(store) == []


def test_intake_deed_twice_is_ok_then_duplicate_and_one_deed_is_stored(store, notified):
    event = intake_event("deed_recorded", deed(recorded_by="ca-office", household_id="h-7"))
    assert outcomes(handlers.intake(store, [event], TODAY)) == ["ok"]
    assert outcomes(handlers.intake(store, [event], TODAY)) == ["duplicate"]
    assert store.db["deeds"].count_documents({}) == 1
    stored = handlers.get_deed(store, event.event_id)["body"]
    assert (stored["member_id"], stored["recorded_by"], stored["household_id"], stored["org_unit_id"]) == \
        ("f1", "ca-office", "h-7", "ca")
    assert notified.types("deed_recorded") == ["deed_recorded"]


def test_a_batch_of_deed_intakes_is_one_write_with_the_outcomes_of_one_by_one(store, notified, monkeypatch):
    earlier = intake_event("deed_recorded", deed(done_on=date(2018, 6, 11)))
    assert outcomes(handlers.intake(store, [earlier], TODAY)) == ["ok"]
    notified.calls.clear()
    writes = []
    insert = store.db.insert_many_with_events
    monkeypatch.setattr(store.db, "insert_many_with_events", lambda *a: writes.append(a) or insert(*a))
    batch = [
        intake_event("deed_recorded", deed(done_on=date(2018, 6, 12))),          # 1 point left of the cap
        earlier,                                                                 # stored before: duplicate
        intake_event("deed_recorded", deed("nobody")),                           # unknown member: retried
        intake_event("deed_recorded", deed(done_on=date(2018, 6, 13))),          # cap used up in this batch
        intake_event("deed_recorded", deed(done_on=date(2018, 6, 13), category="visit")),
        intake_event("deed_recorded", deed(done_on=date(2018, 6, 20))),          # next week: full points
    ]
    assert outcomes(handlers.intake(store, batch, TODAY)) == ["ok", "duplicate", "retry", "ok", "ok", "ok"]
    points = {e.event_id: handlers.get_deed(store, e.event_id)["body"]["points"] for e in batch if e is not batch[2]}
    assert [points[e.event_id] for e in (batch[0], batch[3], batch[4], batch[5])] == [1, 0, 1, 2]
    assert len(writes) == 1 and notified.types("deed_recorded") == ["deed_recorded"] * 4
    assert store.db["deeds"].count_documents({}) == 5


def test_an_id_repeated_within_a_batch_is_a_duplicate_or_a_conflict(store):
    first = intake_event("deed_recorded", deed(id="d-1"))
    same = intake_event("deed_recorded", deed(id="d-1"))
    other = intake_event("deed_recorded", deed(id="d-1", description="另一件事"))
    results = handlers.intake(store, [first, same, other], TODAY)
    assert outcomes(results) == ["ok", "duplicate", "reject"]
    assert "already exists with a different body" in results[2].reason
    assert store.db["deeds"].count_documents({}) == 1


def test_a_deed_stored_meanwhile_by_another_instance_is_a_repeat(store, monkeypatch):
    event = intake_event("deed_recorded", deed(id="d-race"))
    handlers.intake(store, [event], TODAY)
    monkeypatch.setattr(store, "deed_docs", lambda ids: {})                 # read before the other's write
    assert outcomes(handlers.intake(store, [event], TODAY)) == ["duplicate"]
    other = intake_event("deed_recorded", deed(id="d-race", category="visit"))
    assert outcomes(handlers.intake(store, [other], TODAY)) == ["reject"]


def test_record_deed_by_the_member_keeps_the_member_as_recorder(store):
    answer = handlers.record_deed(store, deed(category="visit"), TODAY, settle=no_wait)
    assert answer["status"] == 201
    assert (answer["body"]["recorded_by"], answer["body"]["points"], answer["body"]["week"]) == ("f1", 1, "2018-W24")


def test_points_with_the_weekly_cap_across_three_deeds(store):
    points = [handlers.record_deed(store, deed(done_on=date(2018, 6, d)), TODAY, settle=no_wait)["body"]
              for d in (11, 12, 17)]
    assert [p["points"] for p in points] == [2, 1, 0]
    # another category, another week, a login: their own counts
    assert handlers.record_deed(store, deed(done_on=date(2018, 6, 13), category="visit"), TODAY,
                                settle=no_wait)["body"]["points"] == 1
    assert handlers.record_deed(store, deed(done_on=date(2018, 6, 18)), TODAY, settle=no_wait)["body"]["points"] == 2
    assert handlers.record_deed(store, deed(done_on=date(2018, 6, 14), category="login"), TODAY,
                                settle=no_wait)["body"]["points"] == 0
    # another member has a cap of their own
    assert handlers.record_deed(store, deed("f2", done_on=date(2018, 6, 12)), TODAY,
                                settle=no_wait)["body"]["points"] == 2
    # a disputed deed's points no longer use up the cap
    handlers.decide_deed(store, points[0]["id"], {"decision": "disputed", "decided_on": TODAY, "note": None}, TODAY)
    assert handlers.record_deed(store, deed(done_on=date(2018, 6, 15)), TODAY, settle=no_wait)["body"]["points"] == 2


def test_decide_a_deed_once(store):
    deed_id = handlers.record_deed(store, deed(), TODAY, settle=no_wait)["body"]["id"]
    answer = handlers.decide_deed(store, deed_id, {"decision": "verified", "decided_on": date(2018, 6, 13),
                                                   "note": "属实"}, TODAY)
    assert (answer["body"]["status"], answer["body"]["note"]) == ("verified", "属实")
    with pytest.raises(Conflict):
        handlers.decide_deed(store, deed_id, {"decision": "disputed", "decided_on": TODAY, "note": None}, TODAY)
    with pytest.raises(NotFound):
        handlers.decide_deed(store, "nope", {"decision": "verified", "decided_on": TODAY, "note": None}, TODAY)
    assert pending(store) == ["deed_recorded", "deed_verified"]


def test_weekly_deeds_list_members_without_deeds_and_ignore_disputed(store):
    for member_id, day in (("f1", 12), ("f1", 14), ("f2", 13), ("f3", 4), ("cb1", 13)):
        handlers.record_deed(store, deed(member_id, done_on=date(2018, 6, day), category="visit",
                                         id=f"{member_id}-{day}"), TODAY, settle=no_wait)
    handlers.decide_deed(store, "f2-13", {"decision": "disputed", "decided_on": TODAY, "note": "不实"}, TODAY)
    week = handlers.weekly_deeds(store, "ca", "2018-W24")["body"]
    assert (week["from"], week["to"], week["deeds"]) == ("2018-06-11", "2018-06-17", 2)
    # members of ca on the week's end: f1..f4, p1, a1 (gone and mover had left)
    assert {m["member_id"]: m["deeds"] for m in week["members"]} == {
        "f1": 2, "f2": 0, "f3": 0, "f4": 0, "p1": 0, "a1": 0}
    assert week["members_without_deeds"] == ["a1", "f2", "f3", "f4", "p1"]
    street = handlers.weekly_deeds(store, "wgz", "2018-W24")["body"]
    assert street["deeds"] == 3
    assert "cb1" not in street["members_without_deeds"] and {"g1", "mover"} <= set(street["members_without_deeds"])
    earlier = handlers.weekly_deeds(store, "ca", "2018-W23")["body"]
    assert earlier["deeds"] == 1 and "f3" not in earlier["members_without_deeds"]
    with pytest.raises(NotFound):
        handlers.weekly_deeds(store, "nowhere", "2018-W24")


# -- obligations ------------------------------------------------------------------------------

def hold_q1(store):
    """ca's first quarter of 2018: theme days in January and March, the members' meeting in
    February, a committee meeting every month, the Party lesson in March, no group meeting."""
    days = [("theme_day", date(2018, 1, 10)), ("theme_day", date(2018, 3, 5)),
            ("members_meeting", date(2018, 2, 8)), ("committee_meeting", date(2018, 1, 5)),
            ("committee_meeting", date(2018, 2, 5)), ("committee_meeting", date(2018, 3, 5)),
            ("party_lesson", date(2018, 3, 20)), ("theme_day", date(2017, 12, 10))]
    for kind, day in days:
        handlers.hold_activity(store, held(kind, day), TODAY)


@pytest.fixture
def branch_store(store):
    hold_q1(store)
    return store


def test_compliance_shows_due_held_and_missed_by_period(branch_store):
    report = handlers.compliance(branch_store, "wgz", date(2017, 10, 1), date(2018, 3, 31), date(2018, 4, 1))["body"]
    assert (report["from"], report["to"]) == ("2018-01-01", "2018-03-31")     # nothing due before obligations_from
    rows = {(r["kind"], r["period"]): (r["held"], r["missed"]) for r in report["obligations"]}
    assert {r["org_unit_id"] for r in report["obligations"]} == {"ca"}           # the one unit with a branch
    assert rows == {
        ("theme_day", "2018-01"): (1, False), ("theme_day", "2018-02"): (0, True), ("theme_day", "2018-03"): (1, False),
        ("members_meeting", "2018-Q1"): (1, False), ("party_lesson", "2018-Q1"): (1, False),
        ("committee_meeting", "2018-01"): (1, False), ("committee_meeting", "2018-02"): (1, False),
        ("committee_meeting", "2018-03"): (1, False),
        ("group_meeting", "2018-01"): (0, True), ("group_meeting", "2018-02"): (0, True),
        ("group_meeting", "2018-03"): (0, True),
        ("org_life_meeting", "2018"): (0, False), ("member_appraisal", "2018"): (0, False),   # not closed yet
    }
    assert (report["due"], report["held"], report["missed"]) == (13, 7, 4)
    assert all(r["due"] == 1 for r in report["obligations"])
    # while March is open, it is not missed yet
    open_march = handlers.compliance(branch_store, "ca", date(2018, 3, 1), date(2018, 3, 31), date(2018, 3, 15))
    assert [(r["kind"], r["period"]) for r in open_march["body"]["obligations"] if r["missed"]] == []
    # a unit without a branch owes nothing
    assert handlers.compliance(branch_store, "cb", date(2018, 1, 1), date(2018, 3, 31), TODAY)["body"]["due"] == 0
    with pytest.raises(NotFound):
        handlers.compliance(branch_store, "nowhere", date(2018, 1, 1), date(2018, 3, 31), TODAY)


def test_compliance_before_obligations_from_is_empty(branch_store):
    report = handlers.compliance(branch_store, "ca", date(2017, 1, 1), date(2017, 12, 31), TODAY)["body"]
    assert (report["due"], report["obligations"]) == (0, [])


def announced(notified):
    return sorted((e["data"]["org_unit_id"], e["data"]["kind"], e["data"]["period"])
                  for _, _, events in notified.calls for e in events if e["event_type"] == "obligation_missed")


def test_announce_missed_announces_each_missed_obligation_once(branch_store, notified):
    assert handlers.announce_missed(branch_store, date(2018, 1, 1)) == 0        # December 2017 is not due
    assert handlers.announce_missed(branch_store, date(2018, 4, 1)) == 4
    assert handlers.announce_missed(branch_store, date(2018, 4, 1)) == 0
    assert announced(notified) == [("ca", "group_meeting", "2018-01"), ("ca", "group_meeting", "2018-02"),
                                   ("ca", "group_meeting", "2018-03"), ("ca", "theme_day", "2018-02")]
    assert handlers.announce_missed(branch_store, date(2018, 5, 1)) == 3       # April's, and only them
    assert handlers.announce_missed(branch_store, date(2018, 5, 2)) == 0
    assert len(notified.types("obligation_missed")) == 7
    assert set(announced(notified)) - {("ca", "group_meeting", "2018-01"), ("ca", "group_meeting", "2018-02"),
                                       ("ca", "group_meeting", "2018-03"), ("ca", "theme_day", "2018-02")} == {
        ("ca", "committee_meeting", "2018-04"), ("ca", "group_meeting", "2018-04"), ("ca", "theme_day", "2018-04")}
    assert pending(branch_store).count("obligation_missed") == 7


def test_announce_missed_starts_at_obligations_from(notified):
    store = new_store(notified, obligations_from=date(2018, 3, 1))
    store.apply_membership_events(world())
    hold_q1(store)
    handlers.announce_missed(store, date(2018, 4, 1))
    # January and February are before obligations_from; Q1 overlaps it and had its meeting and lesson
    assert announced(notified) == [("ca", "group_meeting", "2018-03")]


def test_an_obligation_rule_for_the_unit_drops_or_changes_a_kind(branch_store, notified):
    handlers.set_obligation(branch_store, {"kind": "group_meeting", "frequency": None, "org_unit_id": "ca"},
                            settle=no_wait)
    handlers.set_obligation(branch_store, {"kind": "theme_day", "frequency": "quarterly", "org_unit_id": None},
                            settle=no_wait)
    report = handlers.compliance(branch_store, "ca", date(2018, 1, 1), date(2018, 3, 31), date(2018, 4, 1))["body"]
    kinds = {(r["kind"], r["period"]) for r in report["obligations"]}
    assert not any(k == "group_meeting" for k, _ in kinds)
    assert ("theme_day", "2018-Q1") in kinds and report["missed"] == 0
    assert handlers.announce_missed(branch_store, date(2018, 4, 1)) == 0
    assert notified.types("obligation_rule_set") == ["obligation_rule_set"] * 2
    with pytest.raises(NotFound):
        handlers.set_obligation(branch_store, {"kind": "theme_day", "frequency": "monthly", "org_unit_id": "nowhere"},
                                settle=no_wait)


# -- appraisals -----------------------------------------------------------------------------

def test_grades_one_per_member_and_a_third_excellent(store):
    def grade(member_id, value):
        return handlers.grade_member(store, {"member_id": member_id, "year": 2018, "grade": value}, TODAY,
                                     settle=no_wait)
    assert grade("f1", "excellent")["status"] == 201
    with pytest.raises(Conflict):
        grade("f1", "qualified")                                  # a second grade
    with pytest.raises(Conflict) as info:
        grade("f2", "excellent")                                  # 4 full members: one excellent
    assert "grade" in info.value.errors
    with pytest.raises(Conflict):
        grade("p1", "qualified")                                  # probationary
    assert grade("f2", "qualified")["status"] == 201
    sheet = handlers.appraisal_sheet(store, "ca", 2018)["body"]
    assert sheet["grades"] == {"f1": "excellent", "f2": "qualified"}
    assert sheet["counts"] == {"excellent": 1, "qualified": 1, "basically_qualified": 0, "unqualified": 0}
    assert pending(store) == ["member_appraised", "member_appraised"]


# -- cases ------------------------------------------------------------------------------------

def test_intake_case_resolved_once_per_event(store, notified):
    handlers.open_case(store, {"id": "case-1", "kind": "dispute", "org_unit_id": "ca", "opened_on": date(2018, 5, 1),
                               "summary": "邻里纠纷"}, TODAY, settle=no_wait)
    resolution = intake_event("case_resolved", {"case_id": "case-1", "resolved_on": date(2018, 5, 10),
                                                "outcome": "调解成功"})
    assert outcomes(handlers.intake(store, [resolution], TODAY)) == ["ok"]
    assert outcomes(handlers.intake(store, [resolution], TODAY)) == ["duplicate"]
    assert notified.types("case_resolved") == ["case_resolved"]
    body = handlers.get_case(store, "case-1")["body"]
    assert (body["status"], body["resolved_on"], body["outcome"]) == ("resolved", "2018-05-10", "调解成功")
    # another resolution of the same case is refused
    other = intake_event("case_resolved", {"case_id": "case-1", "resolved_on": date(2018, 5, 11), "outcome": "x"})
    assert outcomes(handlers.intake(store, [other], TODAY)) == ["reject"]
    # a resolution for a case not heard of yet waits
    early = intake_event("case_resolved", {"case_id": "case-2", "resolved_on": date(2018, 5, 11), "outcome": "x"})
    assert outcomes(handlers.intake(store, [early], TODAY)) == ["retry"]
    assert pending(store) == ["case_opened", "case_resolved"]


def test_case_lifecycle_through_the_handlers(store):
    handlers.open_case(store, {"id": "c", "kind": "difficult_matter", "org_unit_id": "ca",
                               "opened_on": date(2018, 5, 1), "summary": "路灯", "team": "youth"}, TODAY,
                       settle=no_wait)
    handlers.start_case(store, "c", {"started_on": date(2018, 5, 2), "owner": "f1"}, TODAY)
    with pytest.raises(Conflict):
        handlers.start_case(store, "c", {"started_on": date(2018, 5, 3), "owner": None}, TODAY)
    with pytest.raises(InvalidInput):
        handlers.resolve_case(store, "c", {"resolved_on": date(2018, 5, 1), "outcome": "x"}, TODAY)
    handlers.resolve_case(store, "c", {"resolved_on": date(2018, 5, 9), "outcome": "已修"}, TODAY)
    with pytest.raises(Conflict):
        handlers.close_case(store, "c", {"closed_on": date(2018, 5, 10), "reason": "x"}, TODAY)
    assert pending(store) == ["case_opened", "case_started", "case_resolved"]


# -- refusals leave nothing -----------------------------------------------------------------------

def test_refused_commands_leave_no_event_and_store_nothing(store):
    handlers.schedule_activity(store, {"id": "td", "kind": "theme_day", "title": "主题党日", "org_unit_id": "ca",
                                       "scheduled_for": date(2018, 6, 15)}, settle=no_wait)
    handlers.grade_member(store, {"member_id": "f1", "year": 2018, "grade": "excellent"}, TODAY, settle=no_wait)
    before = pending(store)
    refusals = [
        (InvalidInput, lambda: handlers.record_deed(store, deed(done_on=date(2018, 7, 1)), TODAY, settle=no_wait)),
        (Conflict, lambda: handlers.record_deed(store, deed("gone", done_on=date(2018, 5, 2)), TODAY,
                                                settle=no_wait)),
        (InvalidInput, lambda: handlers.record_activity(store, "td", {"held_on": date(2018, 6, 15),
                                                                      "attendee_ids": ["f1", "cb1"]}, TODAY,
                                                        settle=no_wait)),
        (Conflict, lambda: handlers.grade_member(store, {"member_id": "f1", "year": 2018, "grade": "qualified"},
                                                 TODAY, settle=no_wait)),
        (Conflict, lambda: handlers.grade_member(store, {"member_id": "f2", "year": 2018, "grade": "excellent"},
                                                 TODAY, settle=no_wait)),
        (InvalidInput, lambda: handlers.hold_activity(store, held("theme_day", date(2018, 6, 1),
                                                                  attendees=["f1", "gone"]), TODAY)),
    ]
    for error, refused in refusals:
        with pytest.raises(error):
            refused()
        assert pending(store) == before
    assert store.db["deeds"].count_documents({}) == 0
    assert handlers.get_activity(store, "td")["body"]["status"] == "scheduled"
    assert store.db["activities"].count_documents({}) == 1
    assert handlers.appraisal_sheet(store, "ca", 2018)["body"]["grades"] == {"f1": "excellent"}


# -- the membership view ----------------------------------------------------------------------------

def view_answers(store):
    view = store.view
    days = [date(2018, 1, 1), date(2018, 4, 10), date(2018, 6, 30)]
    return ({(u, d): view.members_on(view.subtree(u), d) for u in ("wgz", "za", "ca", "cb", "g") for d in days},
            {u: [o.id for o in view.party_orgs_of(u)] for u in ("ca", "cb")}, view.known_units())


def test_membership_events_apply_once(notified):
    store = new_store(notified)
    events = world()
    assert outcomes(handlers.apply_membership_events(store, events)) == ["ok"] * len(events)
    answers = view_answers(store)
    assert outcomes(handlers.apply_membership_events(store, events)) == ["duplicate"] * len(events)
    assert store.apply_membership_events(events) == set()
    assert view_answers(store) == answers
    assert store.db["membership_events"].count_documents({}) == len(events)
    # the same event twice in one batch counts once
    extra = member("late", "ca")
    assert outcomes(handlers.apply_membership_events(store, [extra, extra])) == ["ok", "duplicate"]


def test_rebuilding_the_view_from_stored_events_gives_the_live_answers(store):
    live = view_answers(store)
    assert live[0][("ca", date(2018, 6, 30))] == ["a1", "f1", "f2", "f3", "f4", "p1"]
    store.rebuild_view()
    assert view_answers(store) == live
    restarted = ActivitiesStore(store.db, POINTS, date(2018, 1, 1))         # a restart rebuilds too
    assert view_answers(restarted) == live
