"""Membership rules in plain Python: the org-unit tree and member registration."""
from datetime import date

import pytest

from lianxin.errors import InvalidInput, NotFound
from services.membership.domain import OrgUnit, create_org_unit, register_member

TODAY = date(2018, 12, 31)
DISTRICT = OrgUnit("laoshan", "崂山区", "district", None)
STREET = OrgUnit("wgz", "王哥庄街道", "street", "laoshan", ("laoshan",))
COMMUNITY = OrgUnit("wgz-c1", "港东社区", "community", "wgz", ("laoshan", "wgz"))


def member_command(**overrides):
    command = {"name": "张三", "gender": "male", "birth_date": date(1970, 5, 1),
               "org_unit_id": "wgz-c1", "stage": "full", "stage_since": None,
               "admitted_on": date(1995, 7, 1), "id_number": "11010519491231002X",
               "phone": "13912345678"}
    command.update(overrides)
    return command


def refused(command, org_unit=COMMUNITY, today=TODAY) -> dict:
    with pytest.raises(InvalidInput) as info:
        register_member("m1", command, org_unit, today)
    return info.value.errors


# -- org units ------------------------------------------------------------------------

def test_root_org_unit_has_no_ancestors():
    unit, events = create_org_unit("laoshan", {"name": "崂山区", "level": "district", "parent_id": None}, None)
    assert unit == OrgUnit("laoshan", "崂山区", "district", None, ())
    assert unit.path == ("laoshan",)
    assert len(events) == 1
    assert events[0].type == "org_unit_created"
    assert events[0].org_unit_id == "laoshan"
    assert events[0].data == {"org_unit_id": "laoshan", "name": "崂山区", "level": "district", "parent_id": None}


def test_child_inherits_parent_path_as_ancestors():
    unit, events = create_org_unit("wgz-c1", {"name": "港东社区", "level": "community", "parent_id": "wgz"}, STREET)
    assert unit.parent_id == "wgz"
    assert unit.ancestors == ("laoshan", "wgz")
    assert unit.path == ("laoshan", "wgz", "wgz-c1")
    assert events[0].data["parent_id"] == "wgz"


def test_a_level_may_be_skipped_going_down():
    unit, _ = create_org_unit("g1", {"name": "一网格", "level": "grid", "parent_id": "wgz"}, STREET)
    assert unit.path == ("laoshan", "wgz", "g1")


def test_unknown_parent_is_not_found_naming_parent_id():
    with pytest.raises(NotFound) as info:
        create_org_unit("c9", {"name": "x", "level": "community", "parent_id": "nowhere"}, None)
    assert list(info.value.errors) == ["parent_id"]
    assert "nowhere" in info.value.errors["parent_id"][0]


@pytest.mark.parametrize("level", ["street", "community", "district"])
def test_unit_cannot_sit_under_same_or_lower_level(level):
    with pytest.raises(InvalidInput) as info:
        create_org_unit("x", {"name": "x", "level": level, "parent_id": "wgz-c1"}, COMMUNITY)
    assert list(info.value.errors) == ["parent_id"]
    assert "community cannot be the parent" in info.value.errors["parent_id"][0]


# -- members ----------------------------------------------------------------------------

def test_full_member_starts_a_year_after_admission_by_default():
    member, events = register_member("m1", member_command(), COMMUNITY, TODAY)
    assert member.stage == "full"
    assert member.admitted_on == date(1995, 7, 1)
    assert member.stage_since == date(1996, 7, 1)
    assert member.stage_history == (("full", date(1996, 7, 1)),)
    assert member.id_number == "11010519491231002X"


def test_member_registered_event_carries_no_personal_data():
    _, events = register_member("m1", member_command(), COMMUNITY, TODAY)
    assert [e.type for e in events] == ["member_registered"]
    assert events[0].org_unit_id == "wgz-c1"
    assert events[0].data == {
        "member_id": "m1", "name": "张三", "gender": "male", "birth_date": date(1970, 5, 1),
        "org_unit_id": "wgz-c1", "branch_id": None, "stage": "full", "stage_since": date(1996, 7, 1),
        "admitted_on": date(1995, 7, 1),
    }
    assert "id_number" not in events[0].data and "phone" not in events[0].data


def test_probationary_member_starts_on_admission():
    member, _ = register_member("m1", member_command(stage="probationary", admitted_on=date(2018, 7, 1)),
                                COMMUNITY, TODAY)
    assert member.stage_since == date(2018, 7, 1)


def test_applicant_starts_today_by_default():
    member, events = register_member("m1", member_command(stage="applicant", admitted_on=None), COMMUNITY, TODAY)
    assert member.stage_since == TODAY
    assert member.admitted_on is None
    assert events[0].data["admitted_on"] is None


def test_admitted_before_eighteenth_birthday_is_refused():
    errors = refused(member_command(birth_date=date(1980, 8, 1), admitted_on=date(1998, 7, 31)))
    assert errors == {"admitted_on": ["is before the member turned 18"]}


def test_admitted_on_eighteenth_birthday_is_accepted():
    member, _ = register_member("m1", member_command(birth_date=date(1980, 8, 1), admitted_on=date(1998, 8, 1)),
                                COMMUNITY, TODAY)
    assert member.admitted_on == date(1998, 8, 1)


def test_admitted_in_the_future_is_refused():
    errors = refused(member_command(stage="probationary", admitted_on=date(2019, 1, 1)))
    assert errors["admitted_on"] == ["is in the future"]


def test_full_member_less_than_a_year_after_admission_is_refused():
    errors = refused(member_command(admitted_on=date(2018, 3, 1), stage_since=date(2018, 12, 1)))
    assert errors == {
        "stage_since": ["a full member's stage begins at least one year of probation after admission"],
        "admitted_on": ["less than a year ago: a full member has served one year of probation"]}


def test_full_member_admitted_this_year_without_stage_since_is_refused():
    # stage_since defaults to a year after admission, which is still to come.
    errors = refused(member_command(admitted_on=date(2018, 3, 1)))
    assert errors == {
        "stage_since": ["is in the future"],
        "admitted_on": ["less than a year ago: a full member has served one year of probation"]}


def test_probationary_stage_cannot_begin_before_admission():
    errors = refused(member_command(stage="probationary", admitted_on=date(2018, 3, 1),
                                    stage_since=date(2018, 2, 1)))
    assert errors == {"stage_since": ["is before the admission date"]}


@pytest.mark.parametrize("stage", ["applicant", "activist", "candidate"])
def test_not_yet_admitted_stage_with_admitted_on_is_refused(stage):
    errors = refused(member_command(stage=stage, stage_since=date(2018, 1, 1)))
    assert errors == {"admitted_on": [f"must be empty: a member at stage {stage} is not admitted yet"]}


def test_applicant_younger_than_eighteen_is_refused():
    errors = refused(member_command(stage="applicant", admitted_on=None, birth_date=date(2001, 1, 1)))
    assert errors == {"stage_since": ["is before the person turned 18"]}


def test_birth_date_in_the_future_is_refused():
    errors = refused(member_command(stage="applicant", admitted_on=None, birth_date=date(2019, 1, 1)))
    assert errors["birth_date"] == ["is in the future"]


def test_every_broken_date_is_named_at_once():
    errors = refused(member_command(stage="probationary", birth_date=date(2010, 1, 1),
                                    admitted_on=date(2019, 6, 1)))
    assert errors["admitted_on"] == ["is in the future", "is before the member turned 18"]
    assert errors["stage_since"] == ["is in the future"]


def test_unknown_org_unit_is_not_found_naming_org_unit_id():
    with pytest.raises(NotFound) as info:
        register_member("m1", member_command(org_unit_id="nowhere"), None, TODAY)
    assert list(info.value.errors) == ["org_unit_id"]
    assert "nowhere" in info.value.errors["org_unit_id"][0]


@pytest.mark.parametrize("field, value", [("admitted_on", date(9999, 12, 1)), ("birth_date", date(9999, 1, 1)),
                                          ("admitted_on", date(9999, 2, 28))])
def test_dates_at_the_end_of_the_calendar_are_refused_by_name_not_by_overflow(field, value):
    # found by fuzzing intake: years_after(9999-12-01, 1) raised "year 10000 is out of range"
    from services.membership.domain import months_after, years_after
    command = {"name": "张三", "gender": "male", "birth_date": date(1970, 1, 2), "org_unit_id": "c1",
               "stage": "probationary", "admitted_on": date(1995, 7, 1), field: value}
    unit = OrgUnit("c1", "唐家庄社区", "community", None, ())
    with pytest.raises(InvalidInput) as refused:
        register_member("m1", command, unit, date(2026, 11, 28))
    assert field in refused.value.errors
    assert years_after(date(9999, 12, 1), 1) == date.max and months_after(date(1, 1, 1), -1) == date.min
