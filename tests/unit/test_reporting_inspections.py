"""The reporting model's inspections part: rounds, units inspected and
assessments by `inspected_on`; findings by `found_on` once confirmed;
rectified by the verification in force on `to`; overdue as of `to`."""
import random
from datetime import datetime, timedelta
from itertools import permutations

from lianxin.catalog import CATALOG
from lianxin.envelope import BUSINESS_TZ
from tests.unit.test_reporting_activities import tree
from tests.unit.test_reporting_domain import D, OCCURRED, YEAR_2018, model_of

# tree(): wgz street (zone za: communities ca, ca2 with grid g; zone zb: community cb); street other: co.
COMMUNITIES = ("ca", "ca2", "cb")


def at(hours: int) -> datetime:
    return OCCURRED + timedelta(hours=hours)


def inspections_event(event_type, data, occurred_at=OCCURRED):
    return CATALOG.validate(CATALOG.new_event(event_type, data, source="inspections",
                                              org_unit_id=data.get("org_unit_id"), occurred_at=occurred_at))


def round_opened(round_id, unit_ids=COMMUNITIES, follows=None):
    return inspections_event("inspection_round_opened", {
        "round_id": round_id, "name": round_id, "scope_org_unit_ids": ["wgz"], "unit_ids": list(unit_ids),
        "checklist_id": "cl", "checklist_version": 1, "starts_on": D("2018-01-01"), "ends_on": D("2018-12-31"),
        "inspectors": ["insp"], "follows_round_id": follows})


def assessed(assessment_id, round_id, unit_id, on, total=80.0):
    return inspections_event("unit_assessed", {
        "assessment_id": assessment_id, "round_id": round_id, "org_unit_id": unit_id, "inspected_on": D(on),
        "scores": {"a": 8.0}, "total": total, "inspector": "insp"})


def ids(finding_id, unit_id, round_id="r1"):
    return {"finding_id": finding_id, "round_id": round_id, "org_unit_id": unit_id}


def raised(finding_id, unit_id, found_on, status="confirmed"):
    return inspections_event("finding_raised", {**ids(finding_id, unit_id), "item": "a", "severity": "high",
                                                "description": "问题", "found_on": D(found_on), "status": status})


def confirmed(finding_id, unit_id, on):
    return inspections_event("finding_confirmed", {**ids(finding_id, unit_id), "decided_on": D(on),
                                                   "inspector": "insp"})


def dismissed(finding_id, unit_id, on):
    return inspections_event("finding_dismissed", {**ids(finding_id, unit_id), "decided_on": D(on),
                                                   "inspector": "insp"})


def planned(finding_id, unit_id, due_on, occurred_at=OCCURRED):
    return inspections_event("rectification_planned", {**ids(finding_id, unit_id), "owner": "书记",
                                                       "due_on": D(due_on), "plan": "整改"}, occurred_at)


def submitted(finding_id, unit_id, on, occurred_at=OCCURRED):
    return inspections_event("rectification_submitted", {**ids(finding_id, unit_id), "submitted_on": D(on),
                                                         "evidence": "材料"}, occurred_at)


def verified(finding_id, unit_id, on, occurred_at=OCCURRED):
    return inspections_event("rectification_verified", {**ids(finding_id, unit_id), "verified_on": D(on),
                                                        "inspector": "insp", "note": None}, occurred_at)


def reopened(finding_id, unit_id, on, reason="recurred", occurred_at=OCCURRED):
    return inspections_event("finding_reopened", {**ids(finding_id, unit_id), "reopened_on": D(on),
                                                  "inspector": "insp", "reason": reason, "note": None}, occurred_at)


def figures(events, unit_id="wgz", period=YEAR_2018):
    return model_of(events).summary(unit_id, *period)["inspections"]


def period(start, end):
    return D(start), D(end)


NOTHING = {"rounds": 0, "units_inspected": 0, "assessments": 0, "findings": 0, "rectified": 0, "overdue": 0}


# -- rounds, units inspected, assessments ----------------------------------------------------------------

def two_rounds():
    """r1 in March and r2 (回头看) in September, both over ca, ca2 and cb."""
    return [round_opened("r1"), round_opened("r2", follows="r1"),
            assessed("a1", "r1", "ca", "2018-03-01"), assessed("a2", "r1", "ca2", "2018-03-02"),
            assessed("a3", "r1", "cb", "2018-03-03"),
            assessed("a4", "r2", "ca", "2018-09-01"), assessed("a5", "r2", "ca2", "2018-09-02"),
            assessed("a6", "r2", "cb", "2018-09-03")]


def test_two_rounds_over_the_same_communities():
    events = tree() + two_rounds()
    assert figures(events) == {**NOTHING, "rounds": 2, "units_inspected": 3, "assessments": 6}
    assert figures(events, "laoshan") == figures(events)


def test_assessments_are_counted_in_the_subtree_only():
    events = tree() + two_rounds() + [round_opened("r-other", ["co"]), assessed("a7", "r-other", "co", "2018-05-01")]
    assert figures(events, "za") == {**NOTHING, "rounds": 2, "units_inspected": 2, "assessments": 4}
    assert figures(events, "zb") == {**NOTHING, "rounds": 2, "units_inspected": 1, "assessments": 2}
    assert figures(events, "ca") == {**NOTHING, "rounds": 2, "units_inspected": 1, "assessments": 2}
    assert figures(events, "g") == NOTHING
    assert figures(events, "other") == {**NOTHING, "rounds": 1, "units_inspected": 1, "assessments": 1}
    assert figures(events, "laoshan") == {**NOTHING, "rounds": 3, "units_inspected": 4, "assessments": 7}


def test_assessments_are_counted_by_inspected_on_in_the_period():
    events = tree() + two_rounds()
    assert figures(events, period=period("2018-01-01", "2018-06-30")) == \
        {**NOTHING, "rounds": 1, "units_inspected": 3, "assessments": 3}
    assert figures(events, period=period("2018-03-02", "2018-09-01")) == \
        {**NOTHING, "rounds": 2, "units_inspected": 3, "assessments": 3}        # both ends count
    assert figures(events, period=period("2017-01-01", "2017-12-31")) == NOTHING
    assert figures(events, period=period("2018-09-04", "2018-12-31")) == NOTHING


def test_a_repeated_assessment_event_counts_once():
    events = tree() + two_rounds()
    assert figures(events + two_rounds()) == figures(events)


# -- findings ---------------------------------------------------------------------------------------

def findings_history():
    return [
        raised("f1", "ca", "2018-03-01"),                                  # confirmed with its assessment
        raised("f2", "ca", "2018-03-02", "draft"),                         # a draft never decided
        raised("f3", "ca2", "2018-03-03", "draft"), dismissed("f3", "ca2", "2018-03-04"),
        raised("f4", "cb", "2018-03-05", "draft"), confirmed("f4", "cb", "2018-04-20"),   # confirmed later
        raised("f5", "cb", "2017-12-20"),                                  # found before the year
        raised("f6", "co", "2018-03-01"),                                  # another street
    ]


def test_findings_are_counted_by_found_on_once_confirmed():
    events = tree() + findings_history()
    assert figures(events)["findings"] == 2                                # f1 and f4
    assert figures(events, "za")["findings"] == 1
    assert figures(events, "zb")["findings"] == 1
    assert figures(events, "laoshan")["findings"] == 3
    assert figures(events, period=period("2018-03-01", "2018-03-04"))["findings"] == 1
    # f4 counts on its found_on, even if asked before it was confirmed
    assert figures(events, period=period("2018-03-05", "2018-03-31"))["findings"] == 1
    assert figures(events, period=period("2017-01-01", "2017-12-31"))["findings"] == 1


def test_a_draft_counts_only_once_confirmed():
    draft = raised("f", "ca", "2018-03-01", "draft")
    assert figures(tree() + [draft])["findings"] == 0
    assert figures(tree() + [draft, confirmed("f", "ca", "2018-03-02")])["findings"] == 1
    assert figures(tree() + [confirmed("f", "ca", "2018-03-02"), draft])["findings"] == 1
    assert figures(tree() + [draft, dismissed("f", "ca", "2018-03-02")])["findings"] == 0
    assert figures(tree() + [dismissed("f", "ca", "2018-03-02"), draft])["findings"] == 0


# -- rectified --------------------------------------------------------------------------------------

def test_rectified_by_verified_on_in_the_period():
    events = tree() + [raised("f1", "ca", "2018-03-01"), planned("f1", "ca", "2018-06-30"),
                       submitted("f1", "ca", "2018-05-01"), verified("f1", "ca", "2018-05-10"),
                       raised("f2", "cb", "2017-11-01"), planned("f2", "cb", "2017-12-31"),
                       verified("f2", "cb", "2017-12-20")]
    assert figures(events)["rectified"] == 1
    assert figures(events, period=period("2018-05-10", "2018-05-10"))["rectified"] == 1
    assert figures(events, period=period("2018-01-01", "2018-05-09"))["rectified"] == 0
    assert figures(events, period=period("2018-05-11", "2018-12-31"))["rectified"] == 0
    assert figures(events, period=period("2017-01-01", "2017-12-31"))["rectified"] == 1
    assert figures(events, "zb")["rectified"] == 0 and figures(events, "ca")["rectified"] == 1


def test_not_rectified_if_reopened_before_to():
    history = [raised("f", "ca", "2018-03-01"), planned("f", "ca", "2018-06-30"),
               verified("f", "ca", "2018-05-10", at(1)), reopened("f", "ca", "2018-08-01", occurred_at=at(2))]
    for order in permutations(history):
        events = tree() + list(order)
        assert figures(events, period=period("2018-01-01", "2018-07-31"))["rectified"] == 1
        assert figures(events, period=period("2018-01-01", "2018-08-01"))["rectified"] == 0
        assert figures(events)["rectified"] == 0


def test_a_failed_verification_then_a_good_one_is_rectified_on_the_second():
    history = [raised("f", "ca", "2018-03-01"), planned("f", "ca", "2018-06-30"),
               reopened("f", "ca", "2018-05-10", "verification_failed", at(1)),
               verified("f", "ca", "2018-05-20", at(2))]
    for order in permutations(history):
        events = tree() + list(order)
        assert figures(events)["rectified"] == 1
        assert figures(events, period=period("2018-05-21", "2018-12-31"))["rectified"] == 0
        assert figures(events, period=period("2018-01-01", "2018-05-19"))["rectified"] == 0


def test_reopened_by_a_follow_up_the_same_day_it_was_verified_is_not_rectified():
    history = [raised("f", "ca", "2018-03-01"), planned("f", "ca", "2018-06-30"),
               verified("f", "ca", "2018-05-10", at(1)), reopened("f", "ca", "2018-05-10", occurred_at=at(2))]
    for order in permutations(history):
        assert figures(tree() + list(order))["rectified"] == 0


def test_verified_again_the_same_day_it_was_reopened_is_rectified():
    history = [raised("f", "ca", "2018-03-01"), planned("f", "ca", "2018-06-30"),
               reopened("f", "ca", "2018-05-10", "verification_failed", at(1)),
               submitted("f", "ca", "2018-05-10", at(2)), verified("f", "ca", "2018-05-10", at(3))]
    for order in permutations(history):
        assert figures(tree() + list(order))["rectified"] == 1


def test_dismissed_or_draft_findings_are_never_rectified_or_overdue():
    events = tree() + [raised("f", "ca", "2018-03-01", "draft"), dismissed("f", "ca", "2018-03-02"),
                       planned("f", "ca", "2018-04-30"), verified("f", "ca", "2018-04-01")]
    assert figures(events) == NOTHING


# -- overdue ------------------------------------------------------------------------------------------------

def test_overdue_as_of_to():
    events = tree() + [raised("f", "ca", "2018-03-01"), planned("f", "ca", "2018-06-30")]
    assert figures(events, period=period("2018-01-01", "2018-06-30"))["overdue"] == 0      # due on `to`: not yet
    assert figures(events, period=period("2018-01-01", "2018-07-01"))["overdue"] == 1
    assert figures(events)["overdue"] == 1
    assert figures(events, period=period("2018-12-01", "2018-12-31"))["overdue"] == 1      # a stock, whatever `from`
    assert figures(events, "zb")["overdue"] == 0
    # verified (late) on 2018-08-01: overdue until then, not after
    late = events + [verified("f", "ca", "2018-08-01")]
    assert figures(late, period=period("2018-01-01", "2018-07-31"))["overdue"] == 1
    assert figures(late, period=period("2018-01-01", "2018-08-01"))["overdue"] == 0
    # reopened by a follow-up visit: overdue again from then
    again = late + [reopened("f", "ca", "2018-10-01")]
    assert figures(again, period=period("2018-01-01", "2018-09-30"))["overdue"] == 0
    assert figures(again)["overdue"] == 1


def test_overdue_needs_a_plan_and_a_confirmed_finding():
    assert figures(tree() + [raised("f", "ca", "2018-03-01")])["overdue"] == 0
    assert figures(tree() + [raised("f", "ca", "2018-03-01", "draft"), planned("f", "ca", "2018-04-01")])[
        "overdue"] == 0


def test_the_latest_plan_sets_the_due_date_whatever_the_order():
    history = [raised("f", "ca", "2018-03-01"), planned("f", "ca", "2018-04-30", at(1)),
               planned("f", "ca", "2018-09-30", at(2))]
    for order in permutations(history):
        events = tree() + list(order)
        assert figures(events, period=period("2018-01-01", "2018-06-30"))["overdue"] == 0
        assert figures(events, period=period("2018-01-01", "2018-10-01"))["overdue"] == 1


# -- the whole figures, in any order -------------------------------------------------------------------------

def history():
    return two_rounds() + findings_history() + [
        planned("f1", "ca", "2018-04-30", at(1)), submitted("f1", "ca", "2018-04-20", at(2)),
        verified("f1", "ca", "2018-04-25", at(3)),
        planned("f4", "cb", "2018-05-31", at(1)),
        planned("f5", "cb", "2018-01-31", at(1)), verified("f5", "cb", "2018-01-20", at(2)),
        reopened("f5", "cb", "2018-09-03", occurred_at=at(3)),
        planned("f6", "co", "2018-04-30", at(1)),
    ]


def test_the_figures_of_a_whole_year():
    events = tree() + history()
    assert figures(events) == {"rounds": 2, "units_inspected": 3, "assessments": 6, "findings": 2,
                               "rectified": 1, "overdue": 2}
    assert figures(events, period=period("2018-01-01", "2018-06-30")) == {
        "rounds": 1, "units_inspected": 3, "assessments": 3, "findings": 2, "rectified": 2, "overdue": 1}
    assert figures(events, "laoshan")["overdue"] == 3


def test_shuffled_orders_give_identical_summaries():
    events = tree() + history()
    periods = [YEAR_2018, period("2018-01-01", "2018-06-30"), period("2018-04-25", "2018-09-02")]
    expected = {(u, p): model_of(events).summary(u, *p) for u in ("laoshan", "wgz", "za", "cb") for p in periods}
    rng = random.Random(20180925)
    for _ in range(25):
        shuffled = events[:]
        rng.shuffle(shuffled)
        model = model_of(shuffled)
        assert {(u, p): model.summary(u, *p) for u, p in expected} == expected


def test_occurred_at_in_another_offset_orders_plans_by_instant():
    # 10:00+08:00 is 02:00Z, before 03:00Z (11:00+08:00): the 09-30 plan is the later one
    from datetime import timezone
    earlier = datetime(2018, 6, 12, 10, 0, tzinfo=BUSINESS_TZ)
    later = datetime(2018, 6, 12, 3, 0, tzinfo=timezone.utc)
    history = [raised("f", "ca", "2018-03-01"), planned("f", "ca", "2018-04-30", earlier),
               planned("f", "ca", "2018-09-30", later)]
    for order in permutations(history):
        assert figures(tree() + list(order), period=period("2018-01-01", "2018-06-30"))["overdue"] == 0
