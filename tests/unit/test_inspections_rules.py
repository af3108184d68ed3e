"""Inspections rules in plain Python: a MembershipView built from membership's
events, an injected `today`, and the domain functions of services/inspections."""
from dataclasses import replace
from datetime import date, timedelta

import pytest

from lianxin.catalog import CATALOG
from lianxin.errors import Conflict, InvalidInput, NotFound
from lianxin.membership_view import MembershipView
from services.inspections import domain
from services.inspections.domain import Finding
from tests.unit.test_reporting_domain import unit, zones

# zones(): wgz street; zone za with communities ca, ca2 (grid g under ca2); zone zb with community cb.
ITEMS = [{"item": "a", "max_score": 10, "weight": 1}, {"item": "b", "max_score": 20, "weight": 3}]
STARTS, ENDS = date(2018, 6, 1), date(2018, 6, 30)
TODAY = date(2018, 6, 20)
LATER = date(2019, 12, 31)          # a `today` after every date of the finding's life


def view_of(events) -> MembershipView:
    view = MembershipView()
    view.apply(list(events))
    return view


@pytest.fixture
def view():
    return view_of(zones() + [unit("lonely", "zone", "wgz")])


def publishable(events):
    """Every domain event must be something the catalog lets inspections publish."""
    for e in events:
        CATALOG.new_event(e.type, e.data, source="inspections", org_unit_id=e.org_unit_id)
    return events


def types(events) -> list[str]:
    return [e.type for e in events]


def opened(view, scope=("za",), round_id="r1", inspectors=("insp",), items=ITEMS, follows=None, previous=None,
           starts=STARTS, ends=ENDS):
    command = {"name": f"巡诊 {round_id}", "scope_org_unit_ids": list(scope), "starts_on": starts, "ends_on": ends,
               "inspectors": list(inspectors), "follows_round_id": follows}
    rnd, events = domain.open_round(round_id, command, "cl", 1, domain._items(items), view, previous)
    publishable(events)
    return rnd


def assessment(unit_id="ca", scores=None, on=date(2018, 6, 10), findings=(), inspector="insp"):
    return {"org_unit_id": unit_id, "inspected_on": on, "scores": dict(scores or {"a": 5, "b": 20}),
            "findings": list(findings), "inspector": inspector}


def assessed(rnd, unit_id="ca", scores=None, assessment_id=None, findings=(), today=TODAY, on=date(2018, 6, 10)):
    assessment_id = assessment_id or f"as-{unit_id}"
    finding_ids = [f"{assessment_id}-f{n}" for n, _ in enumerate(findings, 1)]
    changed, events = domain.assess(rnd, assessment_id, assessment(unit_id, scores, on, findings), finding_ids, today)
    publishable(events)
    return changed, events


def refused(exc_type, action):
    with pytest.raises(exc_type) as info:
        action()
    return info.value


# -- checklists -------------------------------------------------------------------------------

def test_create_checklist_is_version_1_with_weights_defaulting_to_1():
    checklist, events = domain.create_checklist("cl", {"name": "党建巡诊清单", "items": [
        {"item": "a", "max_score": 10}, {"item": "b", "max_score": 20, "weight": 3}]})
    assert checklist.latest == 1
    assert checklist.versions[1] == ({"item": "a", "max_score": 10.0, "weight": 1.0},
                                     {"item": "b", "max_score": 20.0, "weight": 3.0})
    assert types(publishable(events)) == ["checklist_versioned"]
    assert events[0].data["version"] == 1 and events[0].org_unit_id is None


def test_revise_checklist_adds_a_version_and_keeps_the_old_ones():
    checklist, _ = domain.create_checklist("cl", {"name": "清单", "items": ITEMS})
    revised, events = domain.revise_checklist(checklist, {"items": ITEMS + [{"item": "c", "max_score": 5}]})
    assert revised.latest == 2 and sorted(revised.versions) == [1, 2]
    assert revised.versions[1] == checklist.versions[1]
    assert [i["item"] for i in revised.versions[2]] == ["a", "b", "c"]
    assert types(publishable(events)) == ["checklist_versioned"] and events[0].data["version"] == 2
    third, _ = domain.revise_checklist(revised, {"items": ITEMS})          # back to v1's items is a new version
    assert third.latest == 3 and third.versions[3] == third.versions[1]


def test_revising_with_unchanged_items_is_a_conflict():
    checklist, _ = domain.create_checklist("cl", {"name": "清单", "items": ITEMS})
    error = refused(Conflict, lambda: domain.revise_checklist(checklist, {"items": [dict(i) for i in ITEMS]}))
    assert error.errors == {"items": ["unchanged"]}
    assert checklist.latest == 1


# -- scope and rounds ------------------------------------------------------------------------

def test_a_zone_in_scope_is_its_communities(view):
    assert domain.units_to_assess(view, ["za"]) == ["ca", "ca2"]
    assert domain.units_to_assess(view, ["zb"]) == ["cb"]
    assert sorted(domain.units_to_assess(view, ["wgz"])) == ["ca", "ca2", "cb"]


def test_a_community_in_scope_is_itself_and_repeats_count_once(view):
    assert domain.units_to_assess(view, ["ca"]) == ["ca"]
    assert domain.units_to_assess(view, ["za", "ca", "ca2"]) == ["ca", "ca2"]
    assert sorted(domain.units_to_assess(view, ["zb", "ca"])) == ["ca", "cb"]


def test_a_scope_unit_with_no_community_under_it_is_assessed_itself(view):
    assert domain.units_to_assess(view, ["g"]) == ["g"]
    assert domain.units_to_assess(view, ["lonely"]) == ["lonely"]


def test_an_unknown_scope_unit_is_not_found_naming_scope_org_unit_ids(view):
    error = refused(NotFound, lambda: domain.units_to_assess(view, ["za", "nowhere"]))
    assert list(error.errors) == ["scope_org_unit_ids"] and "nowhere" in error.errors["scope_org_unit_ids"][0]
    error = refused(NotFound, lambda: opened(view, scope=["nowhere"]))
    assert list(error.errors) == ["scope_org_unit_ids"]


def test_open_round_fixes_units_checklist_version_and_inspectors(view):
    command = {"name": "2018年二季度巡诊", "scope_org_unit_ids": ["za", "zb"], "starts_on": STARTS, "ends_on": ENDS,
               "inspectors": ["insp", "insp2"], "follows_round_id": None}
    rnd, events = domain.open_round("r1", command, "cl", 3, domain._items(ITEMS), view, None)
    assert rnd.unit_ids == ("ca", "ca2", "cb") and rnd.remaining == ["ca", "ca2", "cb"]
    assert (rnd.checklist_id, rnd.checklist_version, rnd.inspectors) == ("cl", 3, ("insp", "insp2"))
    assert rnd.assessments == {} and rnd.findings == {} and rnd.closed_on is None
    [event] = publishable(events)
    assert event.type == "inspection_round_opened"
    assert event.data["unit_ids"] == ["ca", "ca2", "cb"] and event.data["checklist_version"] == 3


def test_a_second_round_over_the_same_units_follows_the_first(view):
    first = opened(view, scope=["za"])
    second = opened(view, scope=["za"], round_id="r2", follows="r1", previous=first)
    assert second.follows_round_id == "r1" and second.unit_ids == first.unit_ids
    assert second.remaining == ["ca", "ca2"]
    first, _ = assessed(first, "ca")
    assert first.remaining == ["ca2"] and second.remaining == ["ca", "ca2"]     # each round its own assessments
    second, _ = assessed(second, "ca")
    assert second.assessments["ca"]["total"] == 87.5


def test_following_an_unknown_round_is_not_found_naming_follows_round_id(view):
    error = refused(NotFound, lambda: opened(view, round_id="r2", follows="nope", previous=None))
    assert list(error.errors) == ["follows_round_id"]


def test_close_round_once(view):
    rnd = opened(view)
    closed, events = domain.close_round(rnd, {"closed_on": date(2018, 6, 25)})
    assert closed.closed_on == date(2018, 6, 25) and types(publishable(events)) == ["inspection_round_closed"]
    error = refused(Conflict, lambda: domain.close_round(closed, {"closed_on": date(2018, 6, 26)}))
    assert error.errors == {"round": ["closed"]}


# -- assessments ---------------------------------------------------------------------------------

def test_weighted_total_on_a_0_to_100_scale():
    items = domain._items(ITEMS)
    assert domain.score(items, {"a": 5, "b": 20}) == 87.5          # 100 * (1 * 0.5 + 3 * 1.0) / 4
    assert domain.score(items, {"a": 10, "b": 20}) == 100.0
    assert domain.score(items, {"a": 0, "b": 0}) == 0.0
    assert domain.score(items, {"a": 10, "b": 0}) == 25.0
    assert domain.score(domain._items([{"item": "x", "max_score": 3}]), {"x": 1}) == 33.33


def test_assess_records_scores_total_and_emits_unit_assessed(view):
    rnd = opened(view)
    changed, events = assessed(rnd, "ca", {"a": 5, "b": 20})
    a = changed.assessments["ca"]
    assert (a["id"], a["inspected_on"], a["scores"], a["total"], a["inspector"]) == \
        ("as-ca", date(2018, 6, 10), {"a": 5, "b": 20}, 87.5, "insp")
    assert changed.remaining == ["ca2"] and rnd.remaining == ["ca", "ca2"]
    [event] = events
    assert (event.type, event.org_unit_id, event.data["total"], event.data["round_id"]) == \
        ("unit_assessed", "ca", 87.5, "r1")


@pytest.mark.parametrize("scores, key, message", [
    ({"a": 11, "b": 20}, "scores.a", "must be between 0 and 10"),
    ({"a": -1, "b": 20}, "scores.a", "must be between 0 and 10"),
    ({"a": 5, "b": 20.5}, "scores.b", "must be between 0 and 20"),
    ({"a": 5}, "scores.b", "missing: every checklist item is scored"),
    ({"a": 5, "b": 20, "c": 1}, "scores.c", "not an item of the round's checklist"),
])
def test_scores_that_do_not_fit_the_checklist_are_refused_naming_the_item(view, scores, key, message):
    rnd = opened(view)
    error = refused(InvalidInput, lambda: assessed(rnd, "ca", scores))
    assert error.errors == {key: [message]}
    assert rnd.assessments == {}


def test_every_bad_score_is_named_at_once(view):
    error = refused(InvalidInput, lambda: assessed(opened(view), "ca", {"a": 99, "z": 1}))
    assert set(error.errors) == {"scores.a", "scores.b", "scores.z"}


def test_a_score_at_either_end_of_the_range_is_accepted(view):
    changed, _ = assessed(opened(view), "ca", {"a": 0, "b": 20})
    assert changed.assessments["ca"]["total"] == 75.0


def test_a_unit_outside_the_scope_is_refused_naming_org_unit_id(view):
    rnd = opened(view, scope=["za"])
    error = refused(InvalidInput, lambda: assessed(rnd, "cb"))
    assert list(error.errors) == ["org_unit_id"]
    error = refused(InvalidInput, lambda: assessed(rnd, "za"))       # the zone itself is not assessed
    assert list(error.errors) == ["org_unit_id"]


def test_an_assessment_after_the_round_ended_or_closed_is_a_conflict(view):
    rnd = opened(view)
    error = refused(Conflict, lambda: assessed(rnd, "ca", on=date(2018, 7, 1), today=date(2018, 7, 2)))
    assert list(error.errors) == ["inspected_on"]
    closed, _ = domain.close_round(rnd, {"closed_on": date(2018, 6, 15)})
    error = refused(Conflict, lambda: assessed(closed, "ca", on=date(2018, 6, 10)))
    assert list(error.errors) == ["inspected_on"]
    assert assessed(rnd, "ca", on=ENDS, today=ENDS)[0].assessments["ca"]["inspected_on"] == ENDS   # last day counts


def test_an_assessment_before_the_round_or_in_the_future_is_invalid(view):
    rnd = opened(view)
    error = refused(InvalidInput, lambda: assessed(rnd, "ca", on=date(2018, 5, 31)))
    assert list(error.errors) == ["inspected_on"]
    error = refused(InvalidInput, lambda: assessed(rnd, "ca", on=date(2018, 6, 21), today=date(2018, 6, 20)))
    assert list(error.errors) == ["inspected_on"]


def test_a_unit_is_assessed_once_per_round(view):
    rnd, _ = assessed(opened(view), "ca")
    error = refused(Conflict, lambda: assessed(rnd, "ca", assessment_id="another"))
    assert list(error.errors) == ["org_unit_id"]
    assert rnd.assessments["ca"]["id"] == "as-ca"


def test_findings_given_with_an_assessment_are_confirmed(view):
    findings = [{"item": "a", "severity": "high", "description": "三会一课记录不全"},
                {"item": "b", "severity": "low", "description": "台账未归档"}]
    rnd, events = assessed(opened(view), "ca", findings=findings)
    assert types(events) == ["unit_assessed", "finding_raised", "finding_raised"]
    assert [e.data["status"] for e in events[1:]] == ["confirmed", "confirmed"]
    assert sorted(rnd.findings) == ["as-ca-f1", "as-ca-f2"]
    f1 = rnd.findings["as-ca-f1"]
    assert (f1.status, f1.org_unit_id, f1.item, f1.severity, f1.found_on) == \
        ("confirmed", "ca", "a", "high", date(2018, 6, 10))
    assert f1.history == (("confirmed", date(2018, 6, 10), None),)


def test_a_finding_id_taken_in_the_round_is_a_conflict(view):
    rnd, _ = assessed(opened(view), "ca", findings=[{"item": "a", "severity": "low", "description": "x"}])
    command = assessment("ca2", findings=[{"item": "a", "severity": "low", "description": "y"}])
    error = refused(Conflict, lambda: domain.assess(rnd, "as-2", command, ["as-ca-f1"], TODAY))
    assert "findings" in error.errors


# -- findings: draft to verified ---------------------------------------------------------------

FOUND = date(2018, 6, 10)


def drafted(view, finding_id="f1", unit_id="ca"):
    rnd = opened(view)
    rnd, events = domain.raise_finding(rnd, finding_id, {
        "round_id": "r1", "org_unit_id": unit_id, "item": "a", "severity": "medium",
        "description": "组织生活会未开展", "found_on": FOUND}, TODAY)
    assert types(publishable(events)) == ["finding_raised"] and events[0].data["status"] == "draft"
    return rnd


def decide(rnd, decision="confirm", inspector="insp", on=date(2018, 6, 11), finding_id="f1"):
    changed, events = domain.decide_finding(rnd, finding_id, {"decision": decision, "decided_on": on,
                                                              "inspector": inspector, "note": None}, LATER)
    publishable(events)
    return changed, events


def plan(rnd, due=date(2018, 8, 31), today=date(2018, 6, 15), finding_id="f1"):
    changed, events = domain.plan_rectification(rnd, finding_id, {"owner": "社区书记", "due_on": due,
                                                                  "plan": "补开组织生活会"}, today)
    publishable(events)
    return changed, events


def start(rnd, on=date(2018, 6, 16), finding_id="f1"):
    changed, events = domain.start_rectification(rnd, finding_id, {"started_on": on}, LATER)
    publishable(events)
    return changed, events


def submit(rnd, on=date(2018, 7, 1), finding_id="f1", evidence="会议记录照片"):
    changed, events = domain.submit_rectification(rnd, finding_id, {"submitted_on": on, "evidence": evidence}, LATER)
    publishable(events)
    return changed, events


def verify(rnd, passed=True, on=date(2018, 7, 5), inspector="insp", finding_id="f1"):
    changed, events = domain.verify_rectification(rnd, finding_id, {"verified_on": on, "passed": passed,
                                                                    "inspector": inspector, "note": "核查"}, LATER)
    publishable(events)
    return changed, events


def visit(rnd, recurred, on=date(2018, 10, 1), inspector="insp", finding_id="f1"):
    changed, events = domain.follow_up(rnd, finding_id, {"visited_on": on, "recurred": recurred,
                                                         "inspector": inspector, "note": "回头看"}, LATER)
    publishable(events)
    return changed, events


def status(rnd, finding_id="f1") -> str:
    return rnd.findings[finding_id].status


def test_raise_finding_is_a_draft_inside_the_round(view):
    rnd = drafted(view)
    f = rnd.findings["f1"]
    assert (f.status, f.found_on, f.org_unit_id) == ("draft", FOUND, "ca")
    assert list(refused(InvalidInput, lambda: domain.raise_finding(rnd, "f2", {
        "org_unit_id": "cb", "item": "a", "severity": "low", "description": "x", "found_on": FOUND},
        TODAY)).errors) == ["org_unit_id"]
    assert list(refused(Conflict, lambda: domain.raise_finding(rnd, "f1", {
        "org_unit_id": "ca", "item": "a", "severity": "low", "description": "x", "found_on": FOUND},
        TODAY)).errors) == ["id"]


def test_only_an_inspector_decides_a_draft(view):
    rnd = drafted(view)
    error = refused(Conflict, lambda: decide(rnd, inspector="somebody"))
    assert list(error.errors) == ["inspector"]
    assert status(rnd) == "draft"
    confirmed, events = decide(rnd)
    assert status(confirmed) == "confirmed" and types(events) == ["finding_confirmed"]
    error = refused(Conflict, lambda: decide(confirmed, "dismiss"))
    assert list(error.errors) == ["decision"]
    dismissed, events = decide(rnd, "dismiss")
    assert status(dismissed) == "dismissed" and types(events) == ["finding_dismissed"]
    assert refused(Conflict, lambda: plan(dismissed)).errors == {"status": ["dismissed"]}


def test_a_decision_before_the_finding_is_invalid(view):
    error = refused(InvalidInput, lambda: decide(drafted(view), on=date(2018, 6, 9)))
    assert list(error.errors) == ["decided_on"]


def test_a_draft_cannot_be_planned(view):
    assert refused(Conflict, lambda: plan(drafted(view))).errors == {"status": ["draft"]}


def test_a_due_date_before_the_finding_is_invalid_naming_due_on(view):
    rnd, _ = decide(drafted(view))
    error = refused(InvalidInput, lambda: plan(rnd, due=FOUND - timedelta(days=1)))
    assert list(error.errors) == ["due_on"]
    assert status(rnd) == "confirmed" and rnd.findings["f1"].due_on is None
    same_day, _ = plan(rnd, due=FOUND)
    assert same_day.findings["f1"].due_on == FOUND


def test_the_whole_life_of_a_finding_with_a_failed_verification(view):
    rnd, _ = decide(drafted(view))
    rnd, events = plan(rnd)
    f = rnd.findings["f1"]
    assert (f.status, f.owner, f.due_on, f.plan) == ("planned", "社区书记", date(2018, 8, 31), "补开组织生活会")
    assert types(events) == ["rectification_planned"] and events[0].data["due_on"] == date(2018, 8, 31)
    rnd, events = start(rnd)
    assert status(rnd) == "in_progress" and types(events) == ["rectification_started"]
    rnd, events = submit(rnd)
    assert status(rnd) == "submitted" and types(events) == ["rectification_submitted"]
    assert rnd.findings["f1"].evidence == "会议记录照片"

    error = refused(Conflict, lambda: verify(rnd, inspector="the-secretary"))
    assert list(error.errors) == ["inspector"] and status(rnd) == "submitted"

    rnd, events = verify(rnd, passed=False)
    assert status(rnd) == "reopened" and types(events) == ["finding_reopened"]
    assert events[0].data["reason"] == "verification_failed" and events[0].data["reopened_on"] == date(2018, 7, 5)
    assert refused(Conflict, lambda: verify(rnd)).errors == {"status": ["reopened"]}

    rnd, _ = submit(rnd, on=date(2018, 7, 10), evidence="补充材料")
    rnd, events = verify(rnd, on=date(2018, 7, 12))
    f = rnd.findings["f1"]
    assert (f.status, f.verified_on, f.evidence) == ("verified", date(2018, 7, 12), "补充材料")
    assert types(events) == ["rectification_verified"] and events[0].data["inspector"] == "insp"
    assert [h[0] for h in f.history] == ["draft", "confirmed", "planned", "in_progress", "submitted", "reopened",
                                         "submitted", "verified"]


def test_out_of_order_steps_are_conflicts(view):
    rnd, _ = decide(drafted(view))
    assert refused(Conflict, lambda: start(rnd)).errors == {"status": ["confirmed"]}
    assert refused(Conflict, lambda: submit(rnd)).errors == {"status": ["confirmed"]}
    rnd, _ = plan(rnd)
    rnd, _ = start(rnd)
    assert refused(Conflict, lambda: plan(rnd)).errors == {"status": ["in_progress"]}
    assert refused(InvalidInput, lambda: submit(rnd, on=date(2018, 6, 15))).errors.keys() == {"submitted_on"}
    rnd, _ = submit(rnd)
    assert refused(InvalidInput, lambda: verify(rnd, on=date(2018, 6, 30))).errors.keys() == {"verified_on"}
    with pytest.raises(NotFound):
        verify(rnd, finding_id="nope")


def test_evidence_may_be_submitted_without_starting(view):
    rnd, _ = decide(drafted(view))
    rnd, _ = plan(rnd)
    rnd, _ = submit(rnd)
    assert status(rnd) == "submitted"


def test_rectification_goes_on_after_the_round_closed_but_no_new_finding_is_raised(view):
    rnd, _ = decide(drafted(view))
    rnd, _ = domain.close_round(rnd, {"closed_on": date(2018, 6, 30)})
    rnd, _ = plan(rnd, today=date(2018, 7, 1))
    rnd, _ = submit(rnd, on=date(2018, 7, 10))
    rnd, _ = verify(rnd, on=date(2018, 7, 12))
    assert status(rnd) == "verified"
    error = refused(Conflict, lambda: domain.raise_finding(rnd, "f2", {
        "org_unit_id": "ca", "item": "a", "severity": "low", "description": "x", "found_on": FOUND}, TODAY))
    assert list(error.errors) == ["found_on"]


def verified(view):
    rnd, _ = decide(drafted(view))
    rnd, _ = plan(rnd)
    rnd, _ = submit(rnd)
    rnd, _ = verify(rnd)
    return rnd


def test_a_follow_up_visit_reopens_a_verified_finding_that_came_back(view):
    rnd = verified(view)
    reopened, events = visit(rnd, recurred=True)
    f = reopened.findings["f1"]
    assert (f.status, f.verified_on, f.submitted_on) == ("reopened", None, None)
    [event] = events
    assert (event.type, event.data["reason"], event.data["reopened_on"]) == \
        ("finding_reopened", "recurred", date(2018, 10, 1))
    # and it goes round again: a new plan, evidence, verification
    again, _ = plan(reopened, due=date(2018, 11, 30), today=date(2018, 10, 2))
    again, _ = submit(again, on=date(2018, 10, 20))
    again, _ = verify(again, on=date(2018, 10, 25))
    assert status(again) == "verified"


def test_a_follow_up_visit_that_finds_it_fixed_changes_nothing_but_the_history(view):
    rnd = verified(view)
    visited, events = visit(rnd, recurred=False)
    assert events == []
    f = visited.findings["f1"]
    assert (f.status, f.verified_on) == ("verified", date(2018, 7, 5))
    assert f.history[-1] == ("follow_up_ok", date(2018, 10, 1), "回头看")


def test_follow_up_needs_an_inspector_and_a_verified_finding(view):
    rnd = verified(view)
    assert list(refused(Conflict, lambda: visit(rnd, True, inspector="somebody")).errors) == ["inspector"]
    assert list(refused(InvalidInput, lambda: visit(rnd, True, on=date(2018, 7, 4))).errors) == ["visited_on"]
    reopened, _ = visit(rnd, True)
    assert refused(Conflict, lambda: visit(reopened, True)).errors == {"status": ["reopened"]}


# -- warnings, with an injected clock -----------------------------------------------------------------

def planned(view, due, plan_day):
    rnd, _ = decide(drafted(view))
    rnd, _ = plan(rnd, due=due, today=plan_day)
    return rnd


def walk(rnd, first, last, actions=None, twice=True):
    """Run the warnings for every day from first to last (twice a day, as a
    job that runs hourly would); `actions` change the round on given days."""
    sent = []
    day = first
    while day <= last:
        if actions and day in actions:
            rnd = actions[day](rnd)
        for _ in range(2 if twice else 1):
            rnd, events = domain.warnings(rnd, day)
            publishable(events)
            sent += [(day, e.type, e.data["due_on"], e.data.get("days_left")) for e in events]
        day += timedelta(days=1)
    return rnd, sent


def test_due_soon_at_20_and_10_days_and_overdue_the_day_after_each_exactly_once(view):
    due = date(2018, 8, 31)
    rnd = planned(view, due, date(2018, 6, 15))
    _, sent = walk(rnd, date(2018, 6, 15), date(2018, 12, 31))
    assert sent == [(date(2018, 8, 11), "rectification_due_soon", due, 20),
                    (date(2018, 8, 21), "rectification_due_soon", due, 10),
                    (date(2018, 9, 1), "rectification_overdue", due, None)]


def test_no_warning_after_verification(view):
    due = date(2018, 8, 31)
    rnd = planned(view, due, date(2018, 6, 15))

    def submitted_and_verified(r):
        r, _ = submit(r, on=date(2018, 8, 25))
        r, _ = verify(r, on=date(2018, 8, 25))
        return r
    rnd, sent = walk(rnd, date(2018, 6, 15), date(2018, 12, 31), {date(2018, 8, 25): submitted_and_verified})
    assert [(d, t) for d, t, _, _ in sent] == [(date(2018, 8, 11), "rectification_due_soon"),
                                               (date(2018, 8, 21), "rectification_due_soon")]
    assert status(rnd) == "verified"


def test_submitted_but_unverified_evidence_is_still_overdue(view):
    due = date(2018, 8, 31)
    rnd = planned(view, due, date(2018, 8, 25))
    rnd, _ = submit(rnd, on=date(2018, 8, 25))
    _, sent = walk(rnd, date(2018, 8, 25), date(2018, 9, 30))
    assert [(d, t) for d, t, _, _ in sent] == [(date(2018, 8, 25), "rectification_due_soon"),
                                               (date(2018, 9, 1), "rectification_overdue")]


def test_a_plan_made_5_days_before_due_gets_only_the_10_day_warning_then_overdue(view):
    due = date(2018, 8, 31)
    rnd = planned(view, due, date(2018, 8, 26))
    _, sent = walk(rnd, date(2018, 8, 26), date(2018, 10, 31))
    assert sent == [(date(2018, 8, 26), "rectification_due_soon", due, 10),
                    (date(2018, 9, 1), "rectification_overdue", due, None)]


def test_a_plan_made_15_days_before_due_skips_the_20_day_warning(view):
    due = date(2018, 8, 31)
    rnd = planned(view, due, date(2018, 8, 16))
    _, sent = walk(rnd, date(2018, 8, 16), date(2018, 10, 31))
    assert [(d, t, left) for d, t, _, left in sent] == [(date(2018, 8, 16), "rectification_due_soon", 20),
                                                        (date(2018, 8, 21), "rectification_due_soon", 10),
                                                        (date(2018, 9, 1), "rectification_overdue", None)]


def test_a_replanned_due_date_gets_its_own_warnings(view):
    first_due, new_due = date(2018, 8, 31), date(2018, 9, 30)
    rnd = planned(view, first_due, date(2018, 6, 15))
    rnd, sent = walk(rnd, date(2018, 6, 15), date(2018, 12, 31),
                     {date(2018, 8, 12): lambda r: plan(r, due=new_due, today=date(2018, 8, 12))[0]})
    assert sent == [(date(2018, 8, 11), "rectification_due_soon", first_due, 20),
                    (date(2018, 9, 10), "rectification_due_soon", new_due, 20),
                    (date(2018, 9, 20), "rectification_due_soon", new_due, 10),
                    (date(2018, 10, 1), "rectification_overdue", new_due, None)]


def test_no_warnings_for_drafts_confirmed_without_plan_or_dismissed(view):
    draft = drafted(view)
    confirmed, _ = decide(draft)
    dismissed, _ = decide(draft, "dismiss")
    for rnd in (draft, confirmed, dismissed):
        assert walk(rnd, date(2018, 6, 10), date(2019, 6, 30), twice=False)[1] == []


def test_warnings_of_a_round_are_per_finding(view):
    rnd = opened(view)
    rnd, _ = assessed(rnd, "ca", findings=[{"item": "a", "severity": "low", "description": "x"},
                                           {"item": "b", "severity": "high", "description": "y"}])
    rnd, _ = plan(rnd, due=date(2018, 7, 31), finding_id="as-ca-f1")
    rnd, _ = plan(rnd, due=date(2018, 8, 10), finding_id="as-ca-f2")
    rnd, events = domain.warnings(rnd, date(2018, 7, 21))
    assert [(e.data["finding_id"], e.data["days_left"]) for e in events] == [("as-ca-f1", 10), ("as-ca-f2", 20)]
    rnd, events = domain.warnings(rnd, date(2018, 7, 21))
    assert events == []


# -- queries ----------------------------------------------------------------------------------------------

def test_ranking_by_total_then_unit_id(view):
    rnd = opened(view, scope=["wgz"])
    assert domain.ranking(rnd) == []
    rnd, _ = assessed(rnd, "cb", {"a": 5, "b": 10})           # 50
    rnd, _ = assessed(rnd, "ca2", {"a": 10, "b": 20})         # 100
    rnd, _ = assessed(rnd, "ca", {"a": 10, "b": 0})           # 25
    assert domain.ranking(rnd) == [{"rank": 1, "org_unit_id": "ca2", "total": 100.0},
                                   {"rank": 2, "org_unit_id": "cb", "total": 50.0},
                                   {"rank": 3, "org_unit_id": "ca", "total": 25.0}]


def test_ranking_ties_are_ordered_by_unit_id(view):
    rnd = opened(view, scope=["wgz"])
    for unit_id in ("cb", "ca2", "ca"):
        rnd, _ = assessed(rnd, unit_id, {"a": 5, "b": 20})
    assert [(r["rank"], r["org_unit_id"]) for r in domain.ranking(rnd)] == [(1, "ca"), (2, "ca2"), (3, "cb")]


def test_days_overdue_counts_days_after_the_due_date_while_open():
    due = date(2018, 8, 31)
    f = Finding("f", "ca", "a", "low", "x", date(2018, 6, 10), status="planned", due_on=due)
    assert [f.days_overdue(due + timedelta(days=n)) for n in (-5, 0, 1, 10)] == [0, 0, 1, 10]
    for open_status in ("in_progress", "submitted", "reopened"):
        assert replace(f, status=open_status).days_overdue(date(2018, 9, 30)) == 30
    for closed_status in ("verified", "dismissed", "draft"):
        assert replace(f, status=closed_status).days_overdue(date(2018, 9, 30)) == 0
    assert replace(f, status="confirmed", due_on=None).days_overdue(date(2018, 9, 30)) == 0
