"""Membership rules in plain Python, one test per rule, each with a fixed `today`.

The trees (move, rename, delete; Party organisation kinds), the recruitment
pipeline, probation extension, statuses, transfers, household links and
political birthdays. Every refusal names the rule (the field in `errors`)."""
from datetime import date, timedelta

import pytest

from lianxin.catalog.membership import ExtendProbation, IssueTransfer
from lianxin.commands import load
from lianxin.errors import Conflict, InvalidInput, NotFound
from services.membership.domain import (
    OrgUnit, PartyOrg, change_stage, change_status, create_party_org, delete_org_unit, expire_transfer,
    extend_probation, issue_transfer, link_household, move_org_unit, political_birthday_due, receive_transfer,
    register_member, rename_org_unit, unlink_household,
)

TODAY = date(2018, 12, 31)
DISTRICT = OrgUnit("laoshan", "崂山区", "district", None)
STREET = OrgUnit("wgz", "王哥庄街道", "street", "laoshan", ("laoshan",))
ZONE = OrgUnit("wgz-z1", "港东管区", "zone", "wgz", ("laoshan", "wgz"))
COMMUNITY = OrgUnit("wgz-c1", "港东社区", "community", "wgz", ("laoshan", "wgz"))
GRID = OrgUnit("wgz-c1-g1", "一网格", "grid", "wgz-c1", ("laoshan", "wgz", "wgz-c1"))
OTHER = OrgUnit("wgz-c2", "晓望社区", "community", "wgz", ("laoshan", "wgz"))
WORKING_COMMITTEE = PartyOrg("wc", "王哥庄街道党工委", "working_committee", None, "wgz")
BRANCH = PartyOrg("b1", "港东社区党支部", "branch", None, "wgz-c1")
OTHER_BRANCH = PartyOrg("b2", "晓望社区党支部", "branch", None, "wgz-c2")
GROUP = PartyOrg("g1", "港东第一党小组", "group", "b1", "wgz-c1")


def registered(stage="full", *, since=None, admitted=None, unit=COMMUNITY, branch=BRANCH, today=TODAY):
    """A member of wgz-c1 (branch b1) registered at `stage`."""
    if stage in ("probationary", "full") and admitted is None:
        admitted = date(1995, 7, 1)
    command = {"name": "张三", "gender": "male", "birth_date": date(1970, 5, 1), "org_unit_id": unit.id,
               "branch_id": branch.id if branch else None, "stage": stage, "stage_since": since,
               "admitted_on": admitted, "id_number": None, "phone": None}
    member, _ = register_member("m1", command, unit, today, branch)
    return member


def staged(member, stage, on, today=TODAY):
    return change_stage(member, {"stage": stage, "effective_on": on}, today)


def status(member, new_status, on, today=TODAY, reason="组织决定"):
    return change_status(member, {"status": new_status, "effective_on": on, "reason": reason}, today)


def issued(member, on, to_unit=OTHER, to_branch=OTHER_BRANCH, today=TODAY, transfer_id="t1", **extra):
    command = {"to_org_unit_id": to_unit.id if to_unit else "nowhere",
               "to_branch_id": to_branch.id if to_branch else None, "issued_on": on, **extra}
    return issue_transfer(member, transfer_id, command, to_unit, to_branch, today)


def linked(household, member, on, link_id="l1", today=TODAY):
    command = {"member_id": "m1", "household_id": "h1", "address": "港东村1号", "linked_on": on}
    return link_household(household, link_id, command, member, today)


def refusal(error, action, *args):
    with pytest.raises(error) as info:
        action(*args)
    return info.value


# -- the administrative tree: move ---------------------------------------------------------

@pytest.mark.parametrize("new_parent", [COMMUNITY, GRID], ids=["itself", "its-own-grid"])
def test_unit_cannot_move_into_its_own_subtree(new_parent):
    error = refusal(Conflict, move_org_unit, COMMUNITY, new_parent,
                    {"parent_id": new_parent.id, "moved_on": TODAY}, TODAY)
    assert list(error.errors) == ["parent_id"]
    assert "inside 'wgz-c1'" in error.errors["parent_id"][0]


def test_unit_cannot_move_under_a_parent_of_the_same_or_a_lower_level():
    error = refusal(InvalidInput, move_org_unit, COMMUNITY, OTHER, {"parent_id": "wgz-c2", "moved_on": TODAY}, TODAY)
    assert error.errors == {"parent_id": ["a community cannot be the parent of a community"]}


def test_unit_cannot_move_to_its_current_parent():
    error = refusal(Conflict, move_org_unit, COMMUNITY, STREET, {"parent_id": "wgz", "moved_on": TODAY}, TODAY)
    assert error.errors == {"parent_id": ["unchanged"]}


@pytest.mark.parametrize("new_parent", [None, OrgUnit("z9", "撤销管区", "zone", "wgz", ("laoshan", "wgz"), deleted=True)],
                         ids=["unknown", "deleted"])
def test_unit_cannot_move_under_an_unknown_or_deleted_parent(new_parent):
    error = refusal(NotFound, move_org_unit, COMMUNITY, new_parent, {"parent_id": "z9", "moved_on": TODAY}, TODAY)
    assert list(error.errors) == ["parent_id"]
    assert "z9" in error.errors["parent_id"][0]


def test_move_in_the_future_is_refused_naming_moved_on():
    error = refusal(InvalidInput, move_org_unit, COMMUNITY, ZONE,
                    {"parent_id": "wgz-z1", "moved_on": date(2019, 1, 1)}, TODAY)
    assert error.errors == {"moved_on": ["is in the future"]}


def test_move_reparents_and_its_event_keeps_the_history():
    moved, events = move_org_unit(COMMUNITY, ZONE, {"parent_id": "wgz-z1", "moved_on": date(2018, 6, 1)}, TODAY)
    assert (moved.parent_id, moved.ancestors) == ("wgz-z1", ("laoshan", "wgz", "wgz-z1"))
    assert moved.path == ("laoshan", "wgz", "wgz-z1", "wgz-c1")
    assert [(e.type, e.org_unit_id) for e in events] == [("org_unit_moved", "wgz-c1")]
    assert events[0].data == {"org_unit_id": "wgz-c1", "from_parent_id": "wgz", "to_parent_id": "wgz-z1",
                              "moved_on": date(2018, 6, 1)}


# -- the administrative tree: rename and delete -----------------------------------------------

def test_rename_to_the_same_name_is_a_conflict():
    error = refusal(Conflict, rename_org_unit, COMMUNITY, {"name": "港东社区", "renamed_on": TODAY}, TODAY)
    assert error.errors == {"name": ["unchanged"]}


def test_rename_keeps_the_old_name_in_its_event():
    renamed, events = rename_org_unit(COMMUNITY, {"name": "港东新社区", "renamed_on": date(2018, 9, 1)}, TODAY)
    assert renamed.name == "港东新社区" and renamed.path == COMMUNITY.path
    assert [e.type for e in events] == ["org_unit_renamed"]
    assert events[0].data == {"org_unit_id": "wgz-c1", "old_name": "港东社区", "name": "港东新社区",
                              "renamed_on": date(2018, 9, 1)}


def test_rename_in_the_future_is_refused_naming_renamed_on():
    error = refusal(InvalidInput, rename_org_unit, COMMUNITY, {"name": "新名", "renamed_on": date(2019, 2, 1)}, TODAY)
    assert error.errors == {"renamed_on": ["is in the future"]}


def test_unit_with_members_cannot_be_deleted():
    error = refusal(Conflict, delete_org_unit, COMMUNITY, 3, 0, TODAY)
    assert error.errors == {"org_unit_id": ["has members"]}
    assert "3 member(s)" in error.detail


def test_unit_with_children_cannot_be_deleted():
    error = refusal(Conflict, delete_org_unit, COMMUNITY, 0, 1, TODAY)
    assert error.errors == {"org_unit_id": ["has children"]}


def test_empty_unit_is_deleted_with_the_date():
    events = delete_org_unit(GRID, 0, 0, TODAY)
    assert [(e.type, e.org_unit_id, e.data) for e in events] == [
        ("org_unit_deleted", "wgz-c1-g1", {"org_unit_id": "wgz-c1-g1", "deleted_on": TODAY})]


# -- the Party organisation tree -----------------------------------------------------------------

def test_party_orgs_nest_in_kind_order_and_attach_to_a_unit():
    committee, events = create_party_org("pc", {"name": "港东社区党委", "kind": "committee", "parent_id": "wc",
                                                "org_unit_id": "wgz-c1"}, WORKING_COMMITTEE, COMMUNITY)
    general, _ = create_party_org("gb", {"name": "总支", "kind": "general_branch", "parent_id": "pc",
                                         "org_unit_id": "wgz-c1"}, committee, COMMUNITY)
    branch, _ = create_party_org("br", {"name": "支部", "kind": "branch", "parent_id": "gb",
                                        "org_unit_id": "wgz-c1-g1"}, general, GRID)
    group, _ = create_party_org("gr", {"name": "小组", "kind": "group", "parent_id": "br",
                                       "org_unit_id": "wgz-c1-g1"}, branch, GRID)
    assert (group.parent_id, group.org_unit_id) == ("br", "wgz-c1-g1")
    assert [(e.type, e.org_unit_id) for e in events] == [("party_org_created", "wgz-c1")]
    assert events[0].data == {"party_org_id": "pc", "name": "港东社区党委", "kind": "committee",
                              "parent_id": "wc", "org_unit_id": "wgz-c1"}


@pytest.mark.parametrize("kind,parent", [("group", GROUP), ("branch", GROUP), ("committee", BRANCH),
                                         ("working_committee", WORKING_COMMITTEE)])
def test_party_org_cannot_sit_under_the_same_or_a_lower_kind(kind, parent):
    error = refusal(InvalidInput, create_party_org, "x",
                    {"name": "x", "kind": kind, "parent_id": parent.id, "org_unit_id": "wgz-c1"}, parent, COMMUNITY)
    assert error.errors == {"parent_id": [f"a {parent.kind} cannot be the parent of a {kind}"]}


def test_party_org_under_an_unknown_parent_is_not_found_naming_parent_id():
    error = refusal(NotFound, create_party_org, "x",
                    {"name": "x", "kind": "branch", "parent_id": "nobody", "org_unit_id": "wgz-c1"}, None, COMMUNITY)
    assert list(error.errors) == ["parent_id"] and "nobody" in error.errors["parent_id"][0]


@pytest.mark.parametrize("unit", [None, OrgUnit("gone", "撤销", "community", "wgz", ("laoshan", "wgz"), deleted=True)],
                         ids=["unknown", "deleted"])
def test_party_org_on_an_unknown_or_deleted_unit_is_not_found_naming_org_unit_id(unit):
    error = refusal(NotFound, create_party_org, "x",
                    {"name": "x", "kind": "branch", "parent_id": None, "org_unit_id": "gone"}, None, unit)
    assert list(error.errors) == ["org_unit_id"] and "gone" in error.errors["org_unit_id"][0]


def test_member_belongs_to_a_branch_not_a_group():
    command = {"name": "张三", "gender": "male", "birth_date": date(1970, 5, 1), "org_unit_id": "wgz-c1",
               "branch_id": "g1", "stage": "applicant", "stage_since": None, "admitted_on": None}
    error = refusal(InvalidInput, register_member, "m1", command, COMMUNITY, TODAY, GROUP)
    assert error.errors == {"branch_id": ["'g1' is a group"]}
    error = refusal(NotFound, register_member, "m1", {**command, "branch_id": "b9"}, COMMUNITY, TODAY, None)
    assert list(error.errors) == ["branch_id"]


# -- the recruitment pipeline ---------------------------------------------------------------------------

def test_each_legal_step_of_the_pipeline_is_recorded_with_its_date():
    member = registered("applicant", since=date(2014, 1, 10))
    steps = [("activist", date(2014, 6, 1)), ("candidate", date(2015, 6, 1)),
             ("probationary", date(2016, 1, 15)), ("full", date(2017, 1, 15))]
    kinds = []
    for stage, on in steps:
        before = member.stage
        member, events = staged(member, stage, on)
        assert [e.type for e in events] == ["member_stage_changed"]
        assert events[0].data["from_stage"] == before and events[0].data["stage"] == stage
        assert events[0].org_unit_id == "wgz-c1"
        kinds.append(stage)
    assert member.stage == "full" and member.stage_since == date(2017, 1, 15)
    assert member.stage_history == (("applicant", date(2014, 1, 10)),) + tuple(steps)
    assert member.admitted_on == date(2016, 1, 15)


@pytest.mark.parametrize("current,since,target,expected", [
    ("applicant", date(2016, 1, 1), "candidate", "activist"),
    ("applicant", date(2016, 1, 1), "full", "activist"),
    ("activist", date(2016, 1, 1), "probationary", "candidate"),
    ("candidate", date(2016, 1, 1), "full", "probationary"),
    ("candidate", date(2016, 1, 1), "activist", "probationary"),   # undoing is skipping too
    ("candidate", date(2016, 1, 1), "candidate", "probationary"),
])
def test_skipping_or_undoing_a_stage_is_a_conflict_naming_the_expected_stage(current, since, target, expected):
    member = registered(current, since=since)
    error = refusal(Conflict, staged, member, target, date(2018, 6, 1))
    assert error.errors == {"stage": [f"must be {expected}"]}
    assert f"moves to {expected}" in error.detail


def test_activist_becomes_candidate_only_after_a_full_year():
    member = registered("activist", since=date(2017, 6, 1))
    error = refusal(InvalidInput, staged, member, "candidate", date(2018, 5, 31))
    assert list(error.errors) == ["effective_on"]
    assert "at least 1 year" in error.errors["effective_on"][0]
    candidate, _ = staged(member, "candidate", date(2018, 6, 1))
    assert candidate.stage == "candidate"


def test_becoming_probationary_sets_the_political_birthday_and_a_year_of_probation():
    member = registered("candidate", since=date(2017, 9, 1))
    changed, events = staged(member, "probationary", date(2018, 3, 15))
    assert changed.admitted_on == date(2018, 3, 15)
    assert changed.probation_ends_on == date(2019, 3, 15)
    assert events[0].data["admitted_on"] == date(2018, 3, 15)
    assert events[0].data["effective_on"] == date(2018, 3, 15)


def test_probationary_becomes_full_only_when_probation_ends():
    member = registered("probationary", admitted=date(2017, 12, 1))
    error = refusal(InvalidInput, staged, member, "full", date(2018, 11, 30))
    assert error.errors == {"effective_on": ["probation runs until 2018-12-01"]}
    full, events = staged(member, "full", date(2018, 12, 1))
    assert full.stage == "full" and full.admitted_on == date(2017, 12, 1)
    assert events[0].data["admitted_on"] == date(2017, 12, 1)


@pytest.mark.parametrize("target", ["applicant", "probationary", "full"])
def test_a_full_member_has_no_further_stage(target):
    error = refusal(Conflict, staged, registered("full"), target, date(2018, 6, 1))
    assert error.errors == {"stage": ["no stage after full"]}


def test_stage_change_before_the_last_recorded_change_is_refused():
    member = registered("candidate", since=date(2018, 3, 1))
    error = refusal(InvalidInput, staged, member, "probationary", date(2018, 2, 28))
    assert error.errors == {"effective_on": ["is before the member's last recorded change (2018-03-01)"]}


def test_stage_change_before_a_later_status_change_is_refused():
    member, _ = status(registered("candidate", since=date(2018, 3, 1)), "flowing", date(2018, 5, 1))
    error = refusal(InvalidInput, staged, member, "probationary", date(2018, 4, 1))
    assert error.errors == {"effective_on": ["is before the member's last recorded change (2018-05-01)"]}


def test_stage_change_in_the_future_is_refused():
    member = registered("candidate", since=date(2018, 3, 1))
    error = refusal(InvalidInput, staged, member, "probationary", date(2019, 1, 1))
    assert error.errors == {"effective_on": ["is in the future"]}


# -- probation extension ---------------------------------------------------------------------------------

def extend(member, months, decided, today=TODAY):
    return extend_probation(member, {"months": months, "decided_on": decided}, today)


@pytest.mark.parametrize("months,ends", [(6, date(2019, 9, 15)), (9, date(2019, 12, 15)), (12, date(2020, 3, 15))])
def test_probation_extension_moves_the_end_by_6_to_12_months(months, ends):
    member = registered("probationary", admitted=date(2018, 3, 15))
    changed, events = extend(member, months, date(2018, 12, 20))
    assert changed.probation_ends_on == ends and changed.probation_extended
    assert [(e.type, e.data) for e in events] == [("member_probation_extended", {
        "member_id": "m1", "org_unit_id": "wgz-c1", "months": months, "decided_on": date(2018, 12, 20),
        "probation_ends_on": ends})]


def test_extension_end_falls_on_the_last_day_of_a_short_month():
    member = registered("probationary", admitted=date(2018, 8, 31))
    changed, _ = extend(member, 6, date(2018, 12, 1))
    assert changed.probation_ends_on == date(2020, 2, 29)


@pytest.mark.parametrize("months", [5, 13])
def test_extension_outside_6_to_12_months_is_refused_at_the_edge(months):
    error = refusal(InvalidInput, load, ExtendProbation(), {"months": months, "decided_on": "2018-12-01"})
    assert list(error.errors) == ["months"]


def test_extended_probation_delays_full_membership_to_the_new_end():
    member, _ = extend(registered("probationary", admitted=date(2018, 3, 15)), 6, date(2018, 12, 20))
    later = date(2019, 12, 31)
    error = refusal(InvalidInput, staged, member, "full", date(2019, 3, 15), later)
    assert error.errors == {"effective_on": ["probation runs until 2019-09-15"]}
    assert staged(member, "full", date(2019, 9, 15), later)[0].stage == "full"


def test_probation_is_extended_once_only():
    member, _ = extend(registered("probationary", admitted=date(2018, 3, 15)), 6, date(2018, 12, 20))
    error = refusal(Conflict, extend, member, 6, date(2018, 12, 21))
    assert error.errors == {"months": ["already extended"]}


@pytest.mark.parametrize("stage", ["candidate", "full"])
def test_only_a_probationary_members_probation_is_extended(stage):
    error = refusal(Conflict, extend, registered(stage, since=date(2017, 1, 1) if stage == "candidate" else None),
                    6, date(2018, 12, 1))
    assert error.errors == {"stage": [f"is {stage}"]}


def test_extension_decided_after_probation_ended_is_refused():
    member = registered("probationary", admitted=date(2017, 12, 1))
    error = refusal(InvalidInput, extend, member, 6, date(2018, 12, 10))
    assert error.errors == {"decided_on": ["probation already ended on 2018-12-01"]}


def test_extension_decided_before_admission_is_refused():
    member = registered("probationary", admitted=date(2018, 3, 15))
    error = refusal(InvalidInput, extend, member, 6, date(2018, 3, 14))
    assert error.errors == {"decided_on": ["is before the admission date"]}


# -- statuses --------------------------------------------------------------------------------------------

def test_member_goes_flowing_and_back_keeping_both_in_history():
    flowing, events = status(registered(), "flowing", date(2018, 3, 1), reason="外出务工")
    assert flowing.is_member and events[0].data["from_status"] == "active"
    back, events = status(flowing, "active", date(2018, 10, 1), reason="返乡")
    assert back.status == "active" and back.status_since == date(2018, 10, 1)
    assert back.status_history == (("flowing", date(2018, 3, 1), "外出务工"), ("active", date(2018, 10, 1), "返乡"))
    assert events[0].data == {"member_id": "m1", "org_unit_id": "wgz-c1", "from_status": "flowing",
                              "status": "active", "effective_on": date(2018, 10, 1), "reason": "返乡"}


def test_unchanged_status_is_a_conflict():
    error = refusal(Conflict, status, registered(), "active", date(2018, 3, 1))
    assert error.errors == {"status": ["unchanged"]}


@pytest.mark.parametrize("gone", ["transferred_out", "deceased", "expelled"])
def test_leaving_closes_the_record_for_every_later_change(gone):
    member, _ = status(registered("probationary", admitted=date(2018, 3, 1)), gone, date(2018, 6, 1))
    assert not member.is_member
    expected = {"status": [f"is {gone}"]}
    assert refusal(Conflict, status, member, "active", date(2018, 7, 1)).errors == expected
    assert refusal(Conflict, staged, member, "full", date(2018, 7, 1)).errors == expected
    assert refusal(Conflict, issued, member, date(2018, 7, 1)).errors == expected
    assert refusal(Conflict, extend, member, 6, date(2018, 7, 1)).errors == expected


def test_probation_cancelled_only_for_a_probationary_member():
    error = refusal(Conflict, status, registered("full"), "probation_cancelled", date(2018, 6, 1))
    assert error.errors == {"status": ["the member is full"]}
    cancelled, events = status(registered("probationary", admitted=date(2018, 3, 1)), "probation_cancelled",
                               date(2018, 9, 1))
    assert not cancelled.is_member and events[0].data["status"] == "probation_cancelled"


def test_transferred_out_with_an_open_transfer_is_a_conflict():
    member, _ = issued(registered(), date(2018, 12, 1))
    error = refusal(Conflict, status, member, "transferred_out", date(2018, 12, 10))
    assert error.errors == {"status": ["transfer open"]}


def test_status_change_dates_in_the_wrong_order_are_refused():
    member, _ = status(registered(), "flowing", date(2018, 5, 1))
    error = refusal(InvalidInput, status, member, "active", date(2018, 4, 30))
    assert error.errors == {"effective_on": ["is before the member's last recorded change (2018-05-01)"]}
    error = refusal(InvalidInput, status, member, "active", date(2019, 1, 1))
    assert error.errors == {"effective_on": ["is in the future"]}


# -- transfers ---------------------------------------------------------------------------------------

def test_transfer_letter_is_valid_90_days_by_default():
    member, events = issued(registered(), date(2018, 11, 1))
    transfer = member.open_transfer
    assert (transfer.id, transfer.state, transfer.valid_until) == ("t1", "issued", date(2019, 1, 30))
    assert (transfer.from_org_unit_id, transfer.from_branch_id) == ("wgz-c1", "b1")
    assert member.org_unit_id == "wgz-c1"  # stays until received
    assert [(e.type, e.org_unit_id) for e in events] == [("member_transfer_issued", "wgz-c1")]
    assert events[0].data["valid_until"] == date(2019, 1, 30)
    assert load(IssueTransfer(), {"to_org_unit_id": "wgz-c2", "issued_on": "2018-11-01"})["valid_days"] == 90


def test_transfer_validity_may_be_shorter():
    member, _ = issued(registered(), date(2018, 10, 1), valid_days=30)
    assert member.open_transfer.valid_until == date(2018, 10, 31)


def test_second_open_transfer_is_a_conflict():
    member, _ = issued(registered(), date(2018, 11, 1))
    error = refusal(Conflict, issued, member, date(2018, 11, 2), OTHER, OTHER_BRANCH, TODAY, "t2")
    assert error.errors == {"member_id": ["has an open transfer"]}


def test_transfer_to_the_members_own_unit_and_branch_is_a_conflict():
    error = refusal(Conflict, issued, registered(), date(2018, 11, 1), COMMUNITY, BRANCH)
    assert error.errors == {"to_org_unit_id": ["is the member's own unit"]}


def test_transfer_to_an_unknown_unit_is_not_found_naming_to_org_unit_id():
    error = refusal(NotFound, issued, registered(), date(2018, 11, 1), None, None)
    assert list(error.errors) == ["to_org_unit_id"]


def test_transfer_issued_before_the_last_change_is_refused():
    member, _ = status(registered(), "flowing", date(2018, 6, 1))
    error = refusal(InvalidInput, issued, member, date(2018, 5, 31))
    assert error.errors == {"issued_on": ["is before the member's last recorded change (2018-06-01)"]}


def test_receipt_within_validity_moves_unit_and_branch():
    member, _ = issued(registered(), date(2018, 10, 1), valid_days=30)
    moved, events = receive_transfer(member, "t1", {"received_on": date(2018, 10, 31)}, TODAY)
    assert (moved.org_unit_id, moved.branch_id) == ("wgz-c2", "b2")
    assert moved.open_transfer is None
    assert (moved.transfer("t1").state, moved.transfer("t1").closed_on) == ("received", date(2018, 10, 31))
    assert [(e.type, e.org_unit_id) for e in events] == [("member_transfer_completed", "wgz-c2")]
    assert events[0].data == {"transfer_id": "t1", "member_id": "m1", "from_org_unit_id": "wgz-c1",
                              "to_org_unit_id": "wgz-c2", "to_branch_id": "b2", "received_on": date(2018, 10, 31)}


def test_receipt_after_validity_or_before_issue_is_refused():
    member, _ = issued(registered(), date(2018, 10, 1), valid_days=30)
    error = refusal(InvalidInput, receive_transfer, member, "t1", {"received_on": date(2018, 11, 1)}, TODAY)
    assert error.errors == {"received_on": ["is after the letter's validity (2018-10-31)"]}
    error = refusal(InvalidInput, receive_transfer, member, "t1", {"received_on": date(2018, 9, 30)}, TODAY)
    assert error.errors == {"received_on": ["is before the letter was issued"]}


def test_a_received_letter_cannot_be_received_again():
    member, _ = issued(registered(), date(2018, 10, 1))
    member, _ = receive_transfer(member, "t1", {"received_on": date(2018, 10, 5)}, TODAY)
    error = refusal(Conflict, receive_transfer, member, "t1", {"received_on": date(2018, 10, 6)}, TODAY)
    assert error.errors == {"transfer": ["received"]}
    assert refusal(NotFound, receive_transfer, member, "t9", {"received_on": date(2018, 10, 6)}, TODAY)


def test_receipt_before_the_members_last_recorded_change_is_refused():
    member, _ = issued(registered(), date(2018, 10, 1))
    member, _ = status(member, "flowing", date(2018, 10, 15))
    error = refusal(InvalidInput, receive_transfer, member, "t1", {"received_on": date(2018, 10, 5)}, TODAY)
    assert list(error.errors) == ["received_on"]


def test_letter_expires_after_its_validity_once_with_an_event():
    member, _ = issued(registered(), date(2018, 10, 1), valid_days=30)
    assert expire_transfer(member, date(2018, 10, 31)) == (member, [])
    expired, events = expire_transfer(member, date(2018, 11, 1))
    assert (expired.transfer("t1").state, expired.transfer("t1").closed_on) == ("expired", date(2018, 10, 31))
    assert expired.org_unit_id == "wgz-c1" and expired.open_transfer is None
    assert [(e.type, e.org_unit_id, e.data) for e in events] == [("member_transfer_expired", "wgz-c1", {
        "transfer_id": "t1", "member_id": "m1", "from_org_unit_id": "wgz-c1", "to_org_unit_id": "wgz-c2",
        "valid_until": date(2018, 10, 31)})]
    assert expire_transfer(expired, date(2018, 12, 31))[1] == []
    error = refusal(Conflict, receive_transfer, expired, "t1", {"received_on": date(2018, 10, 20)}, TODAY)
    assert error.errors == {"transfer": ["expired"]}
    assert issued(expired, date(2018, 11, 2), transfer_id="t2")[0].open_transfer.id == "t2"


def test_a_received_letter_never_expires():
    member, _ = issued(registered(), date(2018, 10, 1), valid_days=30)
    received, _ = receive_transfer(member, "t1", {"received_on": date(2018, 10, 20)}, TODAY)
    assert expire_transfer(received, date(2018, 12, 31)) == (received, [])


# -- household links ------------------------------------------------------------------------------------

def test_link_creates_the_household_in_the_members_unit():
    household, events = linked(None, registered(), date(2018, 3, 1))
    assert (household.id, household.org_unit_id, household.address) == ("h1", "wgz-c1", "港东村1号")
    assert household.current.member_id == "m1" and household.current.linked_on == date(2018, 3, 1)
    assert [(e.type, e.org_unit_id, e.data) for e in events] == [("household_linked", "wgz-c1", {
        "link_id": "l1", "member_id": "m1", "household_id": "h1", "org_unit_id": "wgz-c1",
        "address": "港东村1号", "linked_on": date(2018, 3, 1)})]


def test_second_link_while_linked_is_a_conflict_naming_household_id():
    household, _ = linked(None, registered(), date(2018, 3, 1))
    error = refusal(Conflict, linked, household, registered(), date(2018, 4, 1), "l2")
    assert error.errors == {"household_id": ["already linked; unlink it first"]}


def test_link_after_unlink_is_accepted_and_keeps_both_links():
    member = registered()
    household, _ = linked(None, member, date(2018, 3, 1))
    household, events = unlink_household(household, "l1", {"unlinked_on": date(2018, 6, 1), "reason": "搬迁"}, TODAY)
    assert household.current is None
    assert events[0].type == "household_unlinked" and events[0].data["reason"] == "搬迁"
    household, _ = linked(household, member, date(2018, 6, 1), "l2")
    assert [(l.id, l.unlinked_on) for l in household.links] == [("l1", date(2018, 6, 1)), ("l2", None)]


def test_link_dated_before_the_previous_unlink_is_refused():
    member = registered()
    household, _ = linked(None, member, date(2018, 3, 1))
    household, _ = unlink_household(household, "l1", {"unlinked_on": date(2018, 6, 1)}, TODAY)
    error = refusal(InvalidInput, linked, household, member, date(2018, 5, 31), "l2")
    assert error.errors == {"linked_on": ["is before the household's previous link ended"]}


def test_link_in_the_future_is_refused():
    error = refusal(InvalidInput, linked, None, registered(), date(2019, 1, 1))
    assert error.errors == {"linked_on": ["is in the future"]}


def test_member_of_another_unit_cannot_take_the_household():
    household, _ = linked(None, registered(), date(2018, 3, 1))
    household, _ = unlink_household(household, "l1", {"unlinked_on": date(2018, 6, 1)}, TODAY)
    stranger = registered(unit=OTHER, branch=OTHER_BRANCH)
    error = refusal(Conflict, linked, household, stranger, date(2018, 7, 1), "l2")
    assert error.errors == {"member_id": ["belongs to another unit than the household"]}


def test_member_who_left_cannot_take_a_household():
    gone, _ = status(registered(), "deceased", date(2018, 6, 1))
    error = refusal(Conflict, linked, None, gone, date(2018, 7, 1))
    assert error.errors == {"status": ["is deceased"]}


def test_unknown_member_cannot_take_a_household():
    error = refusal(NotFound, linked, None, None, date(2018, 7, 1))
    assert list(error.errors) == ["member_id"]


def test_unlink_before_the_link_began_is_refused_and_twice_is_a_conflict():
    household, _ = linked(None, registered(), date(2018, 3, 1))
    error = refusal(InvalidInput, unlink_household, household, "l1", {"unlinked_on": date(2018, 2, 28)}, TODAY)
    assert error.errors == {"unlinked_on": ["is before the link began"]}
    ended, _ = unlink_household(household, "l1", {"unlinked_on": date(2018, 3, 1)}, TODAY)
    error = refusal(Conflict, unlink_household, ended, "l1", {"unlinked_on": date(2018, 4, 1)}, TODAY)
    assert error.errors == {"link": ["ended"]}


def test_link_dated_before_the_member_arrived_in_the_unit_is_refused():
    member, _ = issued(registered(unit=OTHER, branch=OTHER_BRANCH), date(2018, 10, 1), COMMUNITY, BRANCH)
    member, _ = receive_transfer(member, "t1", {"received_on": date(2018, 10, 10)}, TODAY)
    error = refusal(InvalidInput, linked, None, member, date(2018, 9, 1))
    assert list(error.errors) == ["linked_on"]


# -- political birthdays ------------------------------------------------------------------------------

def birthday(member, today):
    return political_birthday_due(member, today)


@pytest.mark.parametrize("today", [date(2018, 6, 24), date(2018, 6, 28), date(2018, 7, 1)],
                         ids=["7-days-ahead", "3-days-ahead", "on-the-day"])
def test_birthday_within_7_days_is_announced_with_its_years(today):
    member, events = birthday(registered(admitted=date(1995, 7, 1)), today)
    assert [(e.type, e.org_unit_id, e.data) for e in events] == [("political_birthday_due", "wgz-c1", {
        "member_id": "m1", "org_unit_id": "wgz-c1", "admitted_on": date(1995, 7, 1),
        "anniversary_on": date(2018, 7, 1), "years": 23})]
    assert member.birthday_notified_year == 2018


def test_birthday_8_days_ahead_is_not_due_yet():
    member = registered(admitted=date(1995, 7, 1))
    assert birthday(member, date(2018, 6, 23)) == (member, [])


def test_birthday_is_announced_once_a_year_and_again_the_next_year():
    member, _ = birthday(registered(admitted=date(1995, 7, 1)), date(2018, 6, 24))
    assert birthday(member, date(2018, 6, 30))[1] == []
    assert birthday(member, date(2018, 7, 1))[1] == []
    member, events = birthday(member, date(2019, 6, 25))
    assert [e.data["years"] for e in events] == [24] and member.birthday_notified_year == 2019


def test_january_birthday_announced_in_december_counts_for_the_new_year():
    member, events = birthday(registered(admitted=date(2000, 1, 3)), date(2018, 12, 30))
    assert [(e.data["anniversary_on"], e.data["years"]) for e in events] == [(date(2019, 1, 3), 19)]
    assert birthday(member, date(2019, 1, 2))[1] == []


def test_a_probationary_members_first_birthday_is_announced():
    member = registered("probationary", admitted=date(2018, 1, 5))
    _, events = birthday(member, date(2018, 12, 31))
    assert [(e.data["anniversary_on"], e.data["years"]) for e in events] == [(date(2019, 1, 5), 1)]


@pytest.mark.parametrize("stage", ["applicant", "activist", "candidate"])
def test_no_birthday_before_admission(stage):
    member = registered(stage, since=date(2017, 7, 1))
    assert birthday(member, date(2018, 6, 28)) == (member, [])


@pytest.mark.parametrize("gone", ["deceased", "expelled", "transferred_out"])
def test_no_birthday_for_a_member_who_left(gone):
    member, _ = status(registered(admitted=date(1995, 7, 1)), gone, date(2018, 1, 10), today=date(2018, 6, 28))
    assert birthday(member, date(2018, 6, 28)) == (member, [])


def test_29_february_admission_is_celebrated_on_28_february_in_common_years():
    member = registered(admitted=date(2016, 2, 29), today=date(2020, 3, 31))
    assert birthday(member, date(2018, 2, 20))[1] == []
    member, events = birthday(member, date(2018, 2, 21))
    assert [(e.data["anniversary_on"], e.data["years"]) for e in events] == [(date(2018, 2, 28), 2)]
    assert birthday(member, date(2018, 2, 28))[1] == []
    member, events = birthday(member, date(2020, 2, 23))
    assert [(e.data["anniversary_on"], e.data["years"]) for e in events] == [(date(2020, 2, 29), 4)]


def test_birthday_event_timing_follows_the_seven_day_window_exactly():
    member = registered(admitted=date(1995, 7, 1))
    window = [d for d in (date(2018, 6, 20) + timedelta(days=n) for n in range(15)) if birthday(member, d)[1]]
    assert window[0] == date(2018, 6, 24) and window[-1] == date(2018, 7, 1)
