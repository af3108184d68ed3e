"""Inspections use cases over a real InspectionsStore on a fresh embedded
database, its tree fed with membership's events and its evidence with
activities' events; commands go through the service's schemas first."""
from datetime import date

import pytest

from lianxin.catalog import CATALOG
from lianxin.commands import load, no_wait
from lianxin.errors import Conflict, InvalidInput, NotFound
from lianxin.store import ServiceDb
from services.inspections import handlers
from services.inspections.schemas import COMMANDS
from services.inspections.store import InspectionsStore
from tests.support.fakes import fresh_database
from tests.unit.test_activities_handlers import intake_event, outcomes
from tests.unit.test_reporting_activities import activity_held
from tests.unit.test_reporting_domain import D, zones

# zones(): wgz street; zone za with communities ca, ca2 (grid g under ca2); zone zb with community cb.
TODAY = date(2018, 6, 30)
ITEMS = [{"item": "a", "max_score": 10, "weight": 1}, {"item": "b", "max_score": 20, "weight": 3}]


@pytest.fixture
def store(notified):
    store = InspectionsStore(ServiceDb(fresh_database(), InspectionsStore.OUTBOX_COLLECTIONS, notify=notified))
    store.apply_events(zones())
    return store


def pending(store) -> list[str]:
    """The types of the events recorded and not yet published (inspections' outbox)."""
    return [envelope["event_type"] for _, _, envelope, _ in store.db.pending_events()]


def command(name, body):
    """A body as the gateway would pass it, loaded by the service's schema."""
    def plain(value):
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value
    return load(COMMANDS[name], plain(body))


def round_body(round_id="r1", scope=("za",), **extra):
    body = {"id": round_id, "name": f"巡诊 {round_id}", "scope_org_unit_ids": list(scope), "checklist": ITEMS,
            "starts_on": "2018-06-01", "ends_on": "2018-06-30", "inspectors": ["insp"]}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def open_round(store, round_id="r1", scope=("za",), **extra):
    return handlers.open_round(store, command("open_round", round_body(round_id, scope, **extra)), settle=no_wait)


def assessment_body(unit_id="ca", scores=None, findings=(), assessment_id=None, on="2018-06-10"):
    body = {"org_unit_id": unit_id, "inspected_on": on, "scores": scores or {"a": 5, "b": 20},
            "findings": list(findings), "inspector": "insp"}
    if assessment_id:
        body["id"] = assessment_id
    return body


def assess(store, round_id="r1", unit_id="ca", scores=None, findings=(), assessment_id=None, on="2018-06-10",
           today=TODAY):
    return handlers.record_assessment(store, round_id, command("record_assessment", assessment_body(
        unit_id, scores, findings, assessment_id, on)), today)


FINDING = {"item": "a", "severity": "high", "description": "三会一课记录不全"}


def with_finding(store, round_id="r1", unit_id="ca", assessment_id=None):
    """An assessment with one (confirmed) finding; returns the finding id."""
    assessment_id = assessment_id or f"as-{round_id}-{unit_id}"
    assess(store, round_id, unit_id, findings=[FINDING], assessment_id=assessment_id)
    return f"{assessment_id}-f1"


def plan(store, finding_id, due="2018-08-31", today=TODAY):
    return handlers.plan_rectification(store, finding_id, command("plan_rectification", {
        "owner": "社区书记", "due_on": due, "plan": "补开组织生活会"}), today)


def refused(exc_type, action):
    with pytest.raises(exc_type) as info:
        action()
    return info.value


# -- rounds and checklists -------------------------------------------------------------------------

def test_open_a_round_with_an_inline_checklist(store):
    answer = open_round(store)
    assert answer["status"] == 201
    body = answer["body"]
    assert (body["id"], body["checklist_id"], body["checklist_version"]) == ("r1", "round:r1", 1)
    assert body["checklist"] == [{"item": "a", "max_score": 10.0, "weight": 1.0},
                                 {"item": "b", "max_score": 20.0, "weight": 3.0}]
    assert (body["unit_ids"], body["remaining"], body["assessed"]) == (["ca", "ca2"], ["ca", "ca2"], [])
    assert pending(store) == ["inspection_round_opened"]
    assert handlers.get_round(store, "r1", TODAY)["body"] == body


def template(store):
    handlers.create_checklist(store, command("create_checklist", {"id": "cl", "name": "党建巡诊清单",
                                                                  "items": ITEMS}))
    revised = handlers.revise_checklist(store, "cl", command("revise_checklist", {
        "items": ITEMS + [{"item": "c", "max_score": 5, "weight": 2}]}))
    assert revised["body"]["latest_version"] == 2


def test_open_a_round_with_a_template_latest_or_pinned_version(store):
    template(store)
    latest = open_round(store, "r-latest", checklist=None, checklist_id="cl")["body"]
    pinned = open_round(store, "r-pinned", checklist=None, checklist_id="cl", checklist_version=1)["body"]
    assert (latest["checklist_id"], latest["checklist_version"]) == ("cl", 2)
    assert [i["item"] for i in latest["checklist"]] == ["a", "b", "c"]
    assert (pinned["checklist_id"], pinned["checklist_version"]) == ("cl", 1)
    assert [i["item"] for i in pinned["checklist"]] == ["a", "b"]
    # a later revision changes neither round
    handlers.revise_checklist(store, "cl", command("revise_checklist", {"items": [{"item": "z", "max_score": 1}]}))
    assert handlers.get_round(store, "r-latest", TODAY)["body"]["checklist_version"] == 2
    assert assess(store, "r-pinned", scores={"a": 5, "b": 20})["body"]["total"] == 87.5
    error = refused(InvalidInput, lambda: assess(store, "r-latest", scores={"a": 5, "b": 20}))
    assert error.errors == {"scores.c": ["missing: every checklist item is scored"]}
    assert handlers.get_checklist(store, "cl")["body"]["latest_version"] == 3
    assert sorted(handlers.get_checklist(store, "cl")["body"]["versions"]) == ["1", "2", "3"]


def test_a_revision_with_unchanged_items_is_a_conflict(store):
    template(store)
    before = pending(store)
    error = refused(Conflict, lambda: handlers.revise_checklist(store, "cl", command("revise_checklist", {
        "items": ITEMS + [{"item": "c", "max_score": 5, "weight": 2}]})))
    assert error.errors == {"items": ["unchanged"]}
    assert pending(store) == before == ["checklist_versioned", "checklist_versioned"]


def test_an_unknown_template_or_version_is_not_found_and_nothing_is_stored(store):
    template(store)
    before = pending(store)
    error = refused(NotFound, lambda: open_round(store, checklist=None, checklist_id="cl", checklist_version=7))
    assert list(error.errors) == ["checklist_version"]
    error = refused(NotFound, lambda: open_round(store, checklist=None, checklist_id="nope"))
    assert list(error.errors) == ["checklist_id"]
    error = refused(NotFound, lambda: open_round(store, scope=["nowhere"]))
    assert list(error.errors) == ["scope_org_unit_ids"]
    assert store.get_round("r1") is None and pending(store) == before


def test_open_round_lets_scope_units_arrive_before_it_looks(notified):
    store = InspectionsStore(ServiceDb(fresh_database(), InspectionsStore.OUTBOX_COLLECTIONS, notify=notified))
    waited = []

    def settle(ready):
        waited.append(ready())
        store.apply_events(zones())          # membership's events arrive meanwhile
        waited.append(ready())
    body = handlers.open_round(store, command("open_round", round_body()), settle=settle)["body"]
    assert waited == [False, True] and body["unit_ids"] == ["ca", "ca2"]


def test_round_client_ids_are_idempotent_same_body_200_other_body_409(store):
    first = open_round(store)
    again = open_round(store)
    assert (first["status"], again["status"]) == (201, 200) and again["body"] == first["body"]
    error = refused(Conflict, lambda: open_round(store, scope=["zb"]))
    assert error.status == 409 and "id" in error.errors
    assert pending(store) == ["inspection_round_opened"]
    assert handlers.get_round(store, "r1", TODAY)["body"]["unit_ids"] == ["ca", "ca2"]


def test_a_second_round_over_the_same_units(store):
    open_round(store, "r1")
    second = open_round(store, "r2", follows_round_id="r1")["body"]
    assert second["follows_round_id"] == "r1" and second["unit_ids"] == ["ca", "ca2"]
    assert assess(store, "r1", "ca")["status"] == 201
    assert assess(store, "r2", "ca", scores={"a": 10, "b": 20})["status"] == 201
    assert assess(store, "r2", "ca2")["status"] == 201
    r1 = handlers.get_round(store, "r1", TODAY)["body"]
    r2 = handlers.get_round(store, "r2", TODAY)["body"]
    assert (r1["assessed"], r1["remaining"]) == (["ca"], ["ca2"])
    assert (r2["assessed"], r2["remaining"]) == (["ca", "ca2"], [])
    assert handlers.round_unit(store, "r1", "ca", TODAY)["body"]["assessment"]["total"] == 87.5
    assert handlers.round_unit(store, "r2", "ca", TODAY)["body"]["assessment"]["total"] == 100.0
    error = refused(NotFound, lambda: open_round(store, "r3", follows_round_id="nope"))
    assert list(error.errors) == ["follows_round_id"]


def test_close_round_then_no_more_assessments(store):
    open_round(store)
    handlers.close_round(store, "r1", command("close_round", {"closed_on": "2018-06-20"}))
    before = pending(store)
    error = refused(Conflict, lambda: assess(store, "r1", "ca"))
    assert list(error.errors) == ["inspected_on"]
    assert pending(store) == before == ["inspection_round_opened", "inspection_round_closed"]
    assert handlers.get_round(store, "r1", TODAY)["body"]["closed_on"] == "2018-06-20"


# -- assessments ----------------------------------------------------------------------------------------

def test_record_assessment_with_findings(store):
    open_round(store)
    answer = assess(store, findings=[FINDING, {"item": "b", "severity": "low", "description": "台账"}],
                    assessment_id="as-1")
    assert answer["status"] == 201
    assert answer["body"] == {"id": "as-1", "inspected_on": "2018-06-10", "scores": {"a": 5.0, "b": 20.0},
                              "total": 87.5, "inspector": "insp"}
    assert pending(store) == ["inspection_round_opened", "unit_assessed", "finding_raised", "finding_raised"]
    finding = handlers.get_finding(store, "as-1-f1", TODAY)["body"]
    assert (finding["status"], finding["org_unit_id"], finding["round_id"]) == ("confirmed", "ca", "r1")


def test_assessment_client_ids_are_idempotent_same_body_200_other_body_409(store):
    open_round(store)
    first = assess(store, assessment_id="as-1")
    again = assess(store, assessment_id="as-1")
    assert (first["status"], again["status"]) == (201, 200) and again["body"] == first["body"]
    error = refused(Conflict, lambda: assess(store, assessment_id="as-1", scores={"a": 1, "b": 1}))
    assert error.status == 409 and "id" in error.errors
    assert pending(store) == ["inspection_round_opened", "unit_assessed"]
    # another id for the same unit: assessed already
    error = refused(Conflict, lambda: assess(store, assessment_id="as-2"))
    assert list(error.errors) == ["org_unit_id"]


def test_an_assessment_id_taken_in_another_round_is_a_conflict(store):
    open_round(store, "r1")
    open_round(store, "r2", follows_round_id="r1")
    assess(store, "r1", "ca", assessment_id="as-1")
    with pytest.raises(Conflict):
        assess(store, "r2", "ca", assessment_id="as-1")


def test_a_finding_id_taken_in_another_round_is_refused_with_an_assessment(store):
    open_round(store, "r1")
    open_round(store, "r2", follows_round_id="r1")
    assess(store, "r1", "ca", findings=[{**FINDING, "id": "f-1"}])
    before = pending(store)
    with pytest.raises(Conflict):
        assess(store, "r2", "ca", findings=[{**FINDING, "id": "f-1"}])
    assert pending(store) == before


@pytest.mark.parametrize("unit_id, scores, on, exc_type, key", [
    ("ca", {"a": 11, "b": 20}, "2018-06-10", InvalidInput, "scores.a"),
    ("ca", {"a": 5}, "2018-06-10", InvalidInput, "scores.b"),
    ("ca", {"a": 5, "b": 20, "x": 1}, "2018-06-10", InvalidInput, "scores.x"),
    ("cb", {"a": 5, "b": 20}, "2018-06-10", InvalidInput, "org_unit_id"),
    ("ca", {"a": 5, "b": 20}, "2018-07-01", Conflict, "inspected_on"),
])
def test_refused_assessments_store_nothing_and_record_no_event(store, unit_id, scores, on, exc_type, key):
    open_round(store)
    error = refused(exc_type, lambda: assess(store, unit_id=unit_id, scores=scores, on=on, findings=[FINDING],
                                             today=date(2018, 7, 2)))
    assert list(error.errors) == [key]
    assert pending(store) == ["inspection_round_opened"]
    body = handlers.get_round(store, "r1", TODAY)["body"]
    assert (body["assessed"], body["findings"]) == ([], 0)


def test_an_assessment_for_an_unknown_round_is_not_found(store):
    error = refused(NotFound, lambda: assess(store, "nope"))
    assert list(error.errors) == ["round_id"]


# -- findings and rectification -------------------------------------------------------------------------------

def test_refused_finding_changes_record_no_event(store):
    open_round(store)
    finding_id = with_finding(store)
    before = pending(store)
    error = refused(InvalidInput, lambda: plan(store, finding_id, due="2018-06-09"))
    assert list(error.errors) == ["due_on"]
    plan(store, finding_id)
    handlers.submit_rectification(store, finding_id, command("submit_rectification", {
        "submitted_on": "2018-06-20", "evidence": "照片"}), TODAY)
    before = pending(store)
    error = refused(Conflict, lambda: handlers.verify_rectification(store, finding_id, command(
        "verify_rectification", {"verified_on": "2018-06-25", "passed": True, "inspector": "the-secretary"}), TODAY))
    assert list(error.errors) == ["inspector"]
    assert pending(store) == before
    assert handlers.get_finding(store, finding_id, TODAY)["body"]["status"] == "submitted"


def test_a_draft_is_decided_planned_submitted_and_verified(store):
    open_round(store)
    raised = handlers.raise_finding(store, command("raise_finding", {
        "id": "f-1", "round_id": "r1", "org_unit_id": "ca2", "item": "b", "severity": "medium",
        "description": "未按期换届", "found_on": "2018-06-05"}), TODAY)
    assert (raised["status"], raised["body"]["status"]) == (201, "draft")
    assert handlers.raise_finding(store, command("raise_finding", {
        "id": "f-1", "round_id": "r1", "org_unit_id": "ca2", "item": "b", "severity": "medium",
        "description": "未按期换届", "found_on": "2018-06-05"}), TODAY)["status"] == 200
    error = refused(Conflict, lambda: handlers.decide_finding(store, "f-1", command("decide_finding", {
        "decision": "confirm", "decided_on": "2018-06-06", "inspector": "somebody"}), TODAY))
    assert list(error.errors) == ["inspector"]
    handlers.decide_finding(store, "f-1", command("decide_finding", {
        "decision": "confirm", "decided_on": "2018-06-06", "inspector": "insp"}), TODAY)
    plan(store, "f-1")
    handlers.start_rectification(store, "f-1", command("start_rectification", {"started_on": "2018-06-07"}), TODAY)
    handlers.submit_rectification(store, "f-1", command("submit_rectification", {
        "submitted_on": "2018-06-20", "evidence": "换届选举材料"}), TODAY)
    verified = handlers.verify_rectification(store, "f-1", command("verify_rectification", {
        "verified_on": "2018-06-25", "passed": True, "inspector": "insp"}), TODAY)["body"]
    assert (verified["status"], verified["verified_on"]) == ("verified", "2018-06-25")
    assert [h["status"] for h in verified["history"]] == ["draft", "confirmed", "planned", "in_progress",
                                                          "submitted", "verified"]
    reopened = handlers.follow_up(store, "f-1", command("follow_up", {
        "visited_on": "2018-06-29", "recurred": True, "inspector": "insp"}), TODAY)["body"]
    assert reopened["status"] == "reopened"
    assert pending(store)[-2:] == ["rectification_verified", "finding_reopened"]


def test_a_finding_client_id_with_another_body_is_a_conflict(store):
    open_round(store)
    body = {"id": "f-1", "round_id": "r1", "org_unit_id": "ca", "item": "a", "severity": "low",
            "description": "x", "found_on": "2018-06-05"}
    assert handlers.raise_finding(store, command("raise_finding", body), TODAY)["status"] == 201
    assert handlers.raise_finding(store, command("raise_finding", body), TODAY)["status"] == 200
    with pytest.raises(Conflict):
        handlers.raise_finding(store, command("raise_finding", {**body, "org_unit_id": "ca2"}), TODAY)


# -- queries ------------------------------------------------------------------------------------------------

def test_round_unit_and_ranking_show_score_open_and_overdue_findings(store):
    open_round(store, scope=["wgz"])
    finding_id = with_finding(store, unit_id="ca")
    assess(store, unit_id="cb", scores={"a": 10, "b": 20})
    plan(store, finding_id, due="2018-06-20")
    unit = handlers.round_unit(store, "r1", "ca", date(2018, 6, 30))["body"]
    assert (unit["assessment"]["total"], unit["rank"]) == (87.5, 2)
    assert [f["id"] for f in unit["open_findings"]] == [finding_id]
    assert [(f["id"], f["days_overdue"]) for f in unit["overdue"]] == [(finding_id, 10)]
    assert handlers.round_unit(store, "r1", "ca", date(2018, 6, 20))["body"]["overdue"] == []
    other = handlers.round_unit(store, "r1", "ca2", TODAY)["body"]
    assert (other["assessment"], other["rank"], other["open_findings"]) == (None, None, [])
    ranking = handlers.round_ranking(store, "r1")["body"]
    assert ranking["ranking"] == [{"rank": 1, "org_unit_id": "cb", "total": 100.0},
                                  {"rank": 2, "org_unit_id": "ca", "total": 87.5}]
    assert ranking["remaining"] == ["ca2"]
    error = refused(NotFound, lambda: handlers.round_unit(store, "r1", "za", TODAY))
    assert list(error.errors) == ["org_unit_id"]


def obligation_missed(kind, org_unit_id, period, start, end):
    return CATALOG.validate(CATALOG.new_event("obligation_missed", {
        "org_unit_id": org_unit_id, "kind": kind, "period": period, "period_start": D(start),
        "period_end": D(end)}, source="activities", org_unit_id=org_unit_id))


def test_round_unit_shows_evidence_from_activities_for_the_rounds_period(store):
    open_round(store)
    evidence = [
        activity_held("h1", "theme_day", "ca", "2018-06-01"), activity_held("h2", "theme_day", "ca", "2018-06-30"),
        activity_held("h3", "party_lesson", "ca", "2018-06-15"),
        activity_held("h4", "party_lesson", "ca", "2018-05-31"),          # before the round
        activity_held("h5", "theme_day", "cb", "2018-06-15"),             # another unit
        obligation_missed("group_meeting", "ca", "2018-06", "2018-06-01", "2018-06-30"),
        obligation_missed("members_meeting", "ca", "2018-Q2", "2018-04-01", "2018-06-30"),
        obligation_missed("group_meeting", "ca", "2018-05", "2018-05-01", "2018-05-31"),   # before the round
    ]
    assert len(store.apply_events(evidence)) == len(evidence)
    assert store.apply_events(evidence) == set()                         # a repeat is kept once
    body = handlers.round_unit(store, "r1", "ca", TODAY)["body"]
    assert body["evidence"] == {
        "held_by_kind": {"party_lesson": 1, "theme_day": 2},
        "missed_obligations": [{"kind": "group_meeting", "period": "2018-06"},
                               {"kind": "members_meeting", "period": "2018-Q2"}]}
    assert handlers.round_unit(store, "r1", "ca2", TODAY)["body"]["evidence"] == {
        "held_by_kind": {}, "missed_obligations": []}
    assert [r.outcome for r in handlers.apply_events(store, evidence[:2])] == ["duplicate", "duplicate"]


# -- intake --------------------------------------------------------------------------------------------------

def assessment_recorded(round_id="r1", unit_id="ca", **extra):
    return intake_event("assessment_recorded", {"round_id": round_id, "org_unit_id": unit_id,
                                                "inspected_on": date(2018, 6, 10), "scores": {"a": 5, "b": 20},
                                                **extra})


def test_intake_assessment_recorded_twice_is_ok_then_duplicate(store, notified):
    open_round(store)
    event = assessment_recorded(findings=[FINDING])
    assert outcomes(handlers.intake(store, [event], TODAY)) == ["ok"]
    assert outcomes(handlers.intake(store, [event], TODAY)) == ["duplicate"]
    assert notified.types("unit_assessed") == ["unit_assessed"]
    assert notified.types("finding_raised") == ["finding_raised"]
    assert pending(store) == ["inspection_round_opened", "unit_assessed", "finding_raised"]
    assert handlers.get_round(store, "r1", TODAY)["body"]["assessed"] == ["ca"]
    assert store.get_round("r1").assessments["ca"]["id"] == event.event_id


def test_intake_of_a_second_assessment_of_a_unit_is_rejected(store):
    open_round(store)
    assert outcomes(handlers.intake(store, [assessment_recorded()], TODAY)) == ["ok"]
    [result] = handlers.intake(store, [assessment_recorded()], TODAY)
    assert result.outcome == "reject" and "org_unit_id" in result.errors
    [result] = handlers.intake(store, [assessment_recorded(unit_id="ca2", scores={"a": 50, "b": 1})], TODAY)
    assert result.outcome == "reject" and "scores.a" in result.errors
    assert pending(store) == ["inspection_round_opened", "unit_assessed"]


def test_intake_rectification_submitted_twice_is_ok_then_duplicate(store, notified):
    open_round(store)
    finding_id = with_finding(store)
    plan(store, finding_id)
    event = intake_event("rectification_submitted", {"finding_id": finding_id, "submitted_on": date(2018, 6, 20),
                                                     "evidence": "整改报告"})
    assert outcomes(handlers.intake(store, [event], TODAY)) == ["ok"]
    assert outcomes(handlers.intake(store, [event], TODAY)) == ["duplicate"]
    assert notified.types("rectification_submitted") == ["rectification_submitted"]
    assert pending(store).count("rectification_submitted") == 1
    finding = handlers.get_finding(store, finding_id, TODAY)["body"]
    assert (finding["status"], finding["evidence"], finding["submitted_on"]) == ("submitted", "整改报告", "2018-06-20")


def test_intake_for_an_unknown_round_or_finding_is_retried(store):
    [result] = handlers.intake(store, [assessment_recorded(round_id="later")], TODAY)
    assert result.outcome == "retry"
    submitted = intake_event("rectification_submitted", {"finding_id": "nope", "submitted_on": date(2018, 6, 20),
                                                         "evidence": "x"})
    assert outcomes(handlers.intake(store, [submitted], TODAY)) == ["retry"]
    assert pending(store) == []
    # once the round exists, the same event goes through
    open_round(store, "later")
    assert outcomes(handlers.intake(store, [assessment_recorded(round_id="later")], TODAY)) == ["ok"]


def test_intake_of_something_else_is_rejected(store):
    event = intake_event("deed_recorded", {"member_id": "m", "done_on": date(2018, 6, 1), "category": "visit",
                                           "description": "x"})
    assert outcomes(handlers.intake(store, [event], TODAY)) == ["reject"]


# -- the daily job --------------------------------------------------------------------------------------------

def test_daily_sends_each_warning_once_across_repeated_runs(store, notified):
    open_round(store)
    finding_id = with_finding(store)
    plan(store, finding_id, due="2018-08-31")
    runs = {}
    for day in ("2018-07-01", "2018-08-10", "2018-08-11", "2018-08-11", "2018-08-12", "2018-08-21", "2018-08-21",
                "2018-08-31", "2018-09-01", "2018-09-01", "2018-09-02", "2018-12-31"):
        runs.setdefault(day, []).append(handlers.daily(store, D(day)))
    assert runs == {"2018-07-01": [0], "2018-08-10": [0], "2018-08-11": [1, 0], "2018-08-12": [0],
                    "2018-08-21": [1, 0], "2018-08-31": [0], "2018-09-01": [1, 0], "2018-09-02": [0],
                    "2018-12-31": [0]}
    assert notified.types("rectification_due_soon") == ["rectification_due_soon"] * 2
    assert notified.types("rectification_overdue") == ["rectification_overdue"]
    assert pending(store)[-3:] == ["rectification_due_soon", "rectification_due_soon", "rectification_overdue"]
    # a fresh store on the same database keeps what was sent
    again = InspectionsStore(store.db)
    assert handlers.daily(again, D("2018-09-03")) == 0


def test_daily_sends_nothing_after_verification(store, notified):
    open_round(store)
    finding_id = with_finding(store)
    plan(store, finding_id, due="2018-06-29")
    handlers.submit_rectification(store, finding_id, command("submit_rectification", {
        "submitted_on": "2018-06-20", "evidence": "照片"}), TODAY)
    handlers.verify_rectification(store, finding_id, command("verify_rectification", {
        "verified_on": "2018-06-21", "passed": True, "inspector": "insp"}), TODAY)
    assert [handlers.daily(store, D(day)) for day in ("2018-06-30", "2018-07-01", "2018-12-31")] == [0, 0, 0]
    assert notified.types("rectification_overdue") == []


def test_communities_that_reach_the_view_after_the_round_opened_are_assessed(notified):
    """The street arrived first; its communities a moment later (DESIGN.md rule 7)."""
    store = InspectionsStore(ServiceDb(fresh_database(), InspectionsStore.OUTBOX_COLLECTIONS, notify=notified))
    tree = zones()
    store.apply_events([e for e in tree if e.data["org_unit_id"] in ("laoshan", "wgz")])
    opened = open_round(store, "r-late", scope=("wgz",))
    assert opened["body"]["unit_ids"] == ["wgz"]          # all it could know then
    store.apply_events(tree)
    assert assess(store, "r-late", "ca")["status"] == 201
    view = handlers.get_round(store, "r-late", TODAY)["body"]
    assert "wgz" not in view["unit_ids"] and {"ca", "cb"} <= set(view["unit_ids"])
    assert view["assessed"] == ["ca"] and "ca" not in view["remaining"]
