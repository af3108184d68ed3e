"""Honours rules in plain Python: categories, eligibility from this service's
own read models (a MembershipView and an Eligibility built from other
services' events), the nomination workflow through public notice (公示) to
award, objections, and honours from higher bodies."""
from datetime import datetime, timedelta

import pytest

from lianxin.catalog import CATALOG
from lianxin.envelope import BUSINESS_TZ
from lianxin.errors import Conflict, InvalidInput, NotFound
from lianxin.membership_view import MembershipView
from services.honours import domain
from services.honours.domain import TRANSITIONS, Eligibility, Roll, add_working_days
from tests.unit.test_reporting_domain import D, member, not_admitted, status_changed, transfer_completed, zones

NOMINATED_ON = D("2018-06-01")     # a Friday
TODAY = D("2018-12-31")
OCCURRED = datetime(2018, 6, 12, 9, 30, tzinfo=BUSINESS_TZ)


def world():
    """zones(): wgz street; zone za (communities ca, ca2 with grid g), zone zb (community cb).

    ca: f1, f2, f3 full; p1 probationary since 2018-03-01; a1 an applicant; gone (full) transferred
    out on 2018-05-01; mover (full) received by cb on 2018-04-10. cb: cb1 full. g: g1 full.
    """
    return zones() + [
        member("f1", "ca"), member("f2", "ca"), member("f3", "ca"),
        member("p1", "ca", stage="probationary", admitted_on=D("2018-03-01")),
        not_admitted("a1", "ca", "applicant", "2017-01-01"),
        member("gone", "ca"), status_changed("gone", "ca", "active", "transferred_out", "2018-05-01"),
        member("mover", "ca"), transfer_completed("t-mover", "mover", "ca", "cb", "2018-04-10"),
        member("cb1", "cb"), member("g1", "g"),
    ]


@pytest.fixture
def view():
    view = MembershipView()
    view.apply(world())
    return view


@pytest.fixture
def facts():
    return Eligibility()


def publishable(events):
    """Every domain event must be something the catalog lets honours publish."""
    for e in events:
        CATALOG.new_event(e.type, e.data, source="honours", org_unit_id=e.org_unit_id)
    return events


def category(category_id="xj-gr", kind="individual", **extra):
    command = {"name": {"individual": "先进个人", "collective": "先进集体"}[kind], "nominee_kind": kind,
               "awarding_body": "王哥庄街道党工委", **extra}
    made, events = domain.create_category(category_id, command)
    publishable(events)
    return made


def nominate(roll, nominee_id, cat, view, facts, nomination_id=None, year=2018, today=NOMINATED_ON, reason="事迹"):
    nomination_id = nomination_id or f"n-{nominee_id}"
    updated, events = domain.nominate(roll or Roll(cat.id, year), nomination_id,
                                      {"category_id": cat.id, "nominee_id": nominee_id, "year": year,
                                       "reason": reason}, cat, view, facts, today)
    publishable(events)
    return updated, events


def decide(roll, nomination_id, decision, on, cat, view, facts, note=None, today=TODAY):
    updated, events = domain.decide(roll, nomination_id, {"decision": decision, "decided_on": D(on), "note": note},
                                    cat, view, facts, today)
    publishable(events)
    return updated, events


def appraised(facts, member_id, year, grade, unit_id="ca"):
    facts.apply("member_appraised", {"member_id": member_id, "org_unit_id": unit_id, "year": year, "grade": grade},
                OCCURRED)


def finding(facts, event_type, finding_id, unit_id, occurred=OCCURRED, **data):
    facts.apply(event_type, {"finding_id": finding_id, "round_id": "r1", "org_unit_id": unit_id,
                             **{k: D(v) for k, v in data.items()}}, occurred)


# -- working days ---------------------------------------------------------------------------

def test_add_working_days_skips_weekends():
    friday = D("2018-06-01")
    assert friday.weekday() == 4
    assert add_working_days(friday, 1) == D("2018-06-04")          # Monday
    assert add_working_days(friday, 5) == D("2018-06-08")          # over the weekend to Friday
    assert add_working_days(D("2018-06-04"), 5) == D("2018-06-11")  # Monday + 5 -> next Monday
    assert add_working_days(D("2018-06-02"), 1) == D("2018-06-04")  # from a Saturday
    assert add_working_days(friday, 0) == friday
    assert add_working_days(friday, 10) == D("2018-06-15")


# -- categories -----------------------------------------------------------------------------

def test_create_category_keeps_its_settings_and_announces_it():
    made, events = domain.create_category("xj-jt", {"name": "先进集体", "nominee_kind": "collective",
                                                    "awarding_body": "王哥庄街道党工委", "yearly_quota": 32,
                                                    "notice_days": 7, "exclude_overdue_rectification": True})
    assert (made.id, made.name, made.nominee_kind, made.awarding_body) == \
        ("xj-jt", "先进集体", "collective", "王哥庄街道党工委")
    assert (made.yearly_quota, made.notice_days, made.exclude_overdue_rectification, made.external) == \
        (32, 7, True, False)
    assert [e.type for e in publishable(events)] == ["honour_category_created"]
    assert events[0].data == {"category_id": "xj-jt", "name": "先进集体", "nominee_kind": "collective",
                              "awarding_body": "王哥庄街道党工委", "yearly_quota": 32}
    assert events[0].org_unit_id is None


def test_category_defaults_five_working_days_no_quota_and_no_rectification_rule():
    made = category()
    assert (made.yearly_quota, made.notice_days, made.exclude_overdue_rectification, made.external) == \
        (None, 5, False, False)


def test_external_category_is_one_per_title_and_body():
    made, events = domain.external_category("上合组织青岛峰会服务保障工作先进集体", "collective", "青岛市委、市政府")
    assert made.external and made.notice_days == 0 and made.yearly_quota is None
    assert made.id == domain.external_category_id("上合组织青岛峰会服务保障工作先进集体", "青岛市委、市政府")
    assert made.id != domain.external_category_id("上合组织青岛峰会服务保障工作先进集体", "山东省委")
    assert [e.type for e in publishable(events)] == ["honour_category_created"]


# -- nominating: who may be nominated ------------------------------------------------------------

def test_nominate_an_active_full_member_in_their_unit_on_the_day(view, facts):
    cat = category()
    roll, events = nominate(None, "f1", cat, view, facts)
    n = roll.nominations["n-f1"]
    assert (n.status, n.nominee_kind, n.org_unit_id, n.year, n.reason) == ("nominated", "individual", "ca", 2018,
                                                                           "事迹")
    assert n.history == (("nominated", NOMINATED_ON, None),)
    assert [e.type for e in events] == ["nomination_submitted"]
    assert events[0].org_unit_id == "ca"
    assert events[0].data == {"nomination_id": "n-f1", "category_id": cat.id, "nominee_id": "f1",
                              "org_unit_id": "ca", "year": 2018, "nominee_kind": "individual", "reason": "事迹"}
    # the unit is the one on the day: mover moved to cb on 2018-04-10
    roll, _ = nominate(roll, "mover", cat, view, facts)
    assert roll.nominations["n-mover"].org_unit_id == "cb"


def test_unknown_member_is_not_found_naming_the_nominee(view, facts):
    with pytest.raises(NotFound) as info:
        nominate(None, "nobody", category(), view, facts)
    assert list(info.value.errors) == ["nominee_id"]


@pytest.mark.parametrize("nominee_id", ["a1", "p1", "gone"])
def test_applicant_probationary_or_left_member_is_refused_naming_the_nominee(view, facts, nominee_id):
    with pytest.raises(Conflict) as info:
        nominate(None, nominee_id, category(), view, facts)
    assert list(info.value.errors) == ["nominee_id"]
    assert "active full member" in info.value.errors["nominee_id"][0]


def test_a_member_who_left_later_may_be_nominated_for_a_year_they_served(view, facts):
    # for a past year eligibility is judged on its last day (gone left on 2018-05-01)
    roll, events = nominate(None, "gone", category(), view, facts, year=2017)
    assert roll.nominations["n-gone"].org_unit_id == "ca" and events[0].data["year"] == 2017


def test_a_nomination_for_a_past_year_is_dated_when_it_was_made(view, facts):
    cat = category()
    roll, _ = nominate(None, "f1", cat, view, facts, year=2017, today=D("2018-06-01"))
    assert roll.nominations["n-f1"].history == (("nominated", D("2018-06-01"), None),)
    with pytest.raises(InvalidInput) as info:                     # before the nomination was made
        decide(roll, "n-f1", "approve", "2018-05-01", cat, view, facts)
    assert list(info.value.errors) == ["decided_on"]


def test_graded_unqualified_that_year_is_ineligible(view, facts):
    cat = category()
    appraised(facts, "f1", 2018, "unqualified")
    appraised(facts, "f2", 2017, "unqualified")
    appraised(facts, "f3", 2018, "basically_qualified")
    with pytest.raises(Conflict) as info:
        nominate(None, "f1", cat, view, facts)
    assert list(info.value.errors) == ["nominee_id"] and "2018" in info.value.errors["nominee_id"][0]
    assert "不合格" in info.value.detail
    roll, _ = nominate(None, "f2", cat, view, facts)              # another year's grade does not matter
    roll, _ = nominate(roll, "f3", cat, view, facts)              # 基本合格 is not 不合格
    assert set(roll.nominations) == {"n-f2", "n-f3"}
    with pytest.raises(Conflict):
        nominate(None, "f2", cat, view, facts, year=2017)


def test_overdue_rectification_in_the_unit_excludes_when_the_category_says_so(view, facts):
    strict = category("strict", exclude_overdue_rectification=True)
    strict_collective = category("strict-jt", kind="collective", exclude_overdue_rectification=True)
    lenient = category("lenient")
    finding(facts, "rectification_planned", "fd1", "ca", due_on="2018-05-31")
    for cat, nominee in ((strict, "f1"), (strict_collective, "ca")):
        with pytest.raises(Conflict) as info:
            nominate(None, nominee, cat, view, facts)
        assert list(info.value.errors) == ["nominee_id"]
        assert "overdue rectification" in info.value.errors["nominee_id"][0]
    nominate(None, "f1", lenient, view, facts)                      # the category does not care
    nominate(None, "cb1", strict, view, facts)                      # another unit's finding
    nominate(None, "g1", strict, view, facts)                       # the rule is the member's own unit


def test_a_rectification_due_on_the_day_is_not_overdue_yet(view, facts):
    strict = category(exclude_overdue_rectification=True)
    finding(facts, "rectification_planned", "fd1", "ca", due_on="2018-06-01")
    nominate(None, "f1", strict, view, facts)
    with pytest.raises(Conflict):
        nominate(None, "f1", strict, view, facts, today=D("2018-06-02"))


def test_a_verified_rectification_no_longer_excludes(view, facts):
    strict = category(exclude_overdue_rectification=True)
    finding(facts, "rectification_planned", "fd1", "ca", due_on="2018-05-31")
    finding(facts, "rectification_verified", "fd1", "ca", verified_on="2018-06-05",
            occurred=OCCURRED + timedelta(hours=1))
    with pytest.raises(Conflict):                                   # not yet verified on 06-01
        nominate(None, "f1", strict, view, facts)
    roll, _ = nominate(None, "f1", strict, view, facts, today=D("2018-06-05"))
    assert roll.nominations["n-f1"].status == "nominated"
    # reopened after the verification: overdue again
    finding(facts, "finding_reopened", "fd1", "ca", reopened_on="2018-06-20",
            occurred=OCCURRED + timedelta(hours=2))
    with pytest.raises(Conflict):
        nominate(None, "f2", strict, view, facts, today=D("2018-06-21"))


def test_a_collective_nominee_is_a_known_unit(view, facts):
    cat = category("xj-jt", kind="collective")
    roll, events = nominate(None, "ca", cat, view, facts)
    n = roll.nominations["n-ca"]
    assert (n.nominee_kind, n.org_unit_id) == ("collective", "ca")
    assert events[0].org_unit_id == "ca"
    with pytest.raises(NotFound) as info:
        nominate(None, "nowhere", cat, view, facts)
    assert list(info.value.errors) == ["nominee_id"]


def test_the_same_nominee_once_per_roll_unless_rejected(view, facts):
    cat = category()
    roll, _ = nominate(None, "f1", cat, view, facts)
    with pytest.raises(Conflict) as info:
        nominate(roll, "f1", cat, view, facts, nomination_id="n-f1-again")
    assert list(info.value.errors) == ["nominee_id"]
    roll, _ = decide(roll, "n-f1", "reject", "2018-06-04", cat, view, facts, note="材料不实")
    roll, _ = nominate(roll, "f1", cat, view, facts, nomination_id="n-f1-again", today=D("2018-06-05"))
    assert roll.nominations["n-f1-again"].status == "nominated"


def test_an_external_category_is_not_nominated(view, facts):
    external, _ = domain.external_category("上合组织青岛峰会服务保障工作先进集体", "collective", "青岛市委、市政府")
    with pytest.raises(Conflict) as info:
        nominate(None, "ca", external, view, facts)
    assert list(info.value.errors) == ["category_id"]


def test_a_future_year_is_invalid(view, facts):
    with pytest.raises(InvalidInput) as info:
        nominate(None, "f1", category(), view, facts, year=2019)
    assert list(info.value.errors) == ["year"]


# -- deciding: the workflow --------------------------------------------------------------------

STEPS = {  # status -> the decisions that lead there from a fresh nomination, with their days
    "nominated": [],
    "approved": [("approve", "2018-06-04")],
    "publicized": [("approve", "2018-06-04"), ("publicize", "2018-06-04")],
    "awarded": [("approve", "2018-06-04"), ("publicize", "2018-06-04"), ("award", "2018-06-12")],
    "rejected": [("reject", "2018-06-04")],
    "revoked": [("approve", "2018-06-04"), ("publicize", "2018-06-04"), ("award", "2018-06-12"),
                ("revoke", "2018-06-20")],
}
NOTES = {"reject": "材料不实", "revoke": "违纪"}


def walked_to(status, cat, view, facts, nominee_id="f1"):
    roll, _ = nominate(None, nominee_id, cat, view, facts)
    for decision, on in STEPS[status]:
        roll, _ = decide(roll, f"n-{nominee_id}", decision, on, cat, view, facts, note=NOTES.get(decision))
    assert roll.nominations[f"n-{nominee_id}"].status == status
    return roll


@pytest.mark.parametrize("status", list(STEPS))
@pytest.mark.parametrize("decision", list(TRANSITIONS))
def test_every_legal_step_is_taken_and_every_illegal_one_refused_naming_the_decision(view, facts, status,
                                                                                     decision):
    cat = category()
    roll = walked_to(status, cat, view, facts)
    legal = {"nominated": {"approve", "reject"}, "approved": {"publicize", "reject"},
             "publicized": {"award", "reject"}, "awarded": {"revoke"}, "rejected": set(), "revoked": set()}
    if decision in legal[status]:
        updated, events = decide(roll, "n-f1", decision, "2018-07-02", cat, view, facts, note=NOTES.get(decision))
        expected = {"approve": "approved", "publicize": "publicized", "award": "awarded", "reject": "rejected",
                    "revoke": "revoked"}[decision]
        n = updated.nominations["n-f1"]
        assert n.status == expected and n.history[-1][:2] == (expected, D("2018-07-02"))
        assert [e.type for e in events] == [{"approve": "nomination_approved", "publicize": "nomination_publicized",
                                            "award": "honour_awarded", "reject": "nomination_rejected",
                                            "revoke": "honour_revoked"}[decision]]
        assert events[0].org_unit_id == "ca"
    else:
        with pytest.raises(Conflict) as info:
            decide(roll, "n-f1", decision, "2018-07-02", cat, view, facts, note=NOTES.get(decision))
        assert list(info.value.errors) == ["decision"]


def test_unknown_nomination_is_not_found(view, facts):
    cat = category()
    roll, _ = nominate(None, "f1", cat, view, facts)
    with pytest.raises(NotFound):
        decide(roll, "nope", "approve", "2018-06-04", cat, view, facts)


def test_the_full_cycle_with_public_notice_of_five_working_days(view, facts):
    cat = category()
    roll, _ = nominate(None, "f1", cat, view, facts)
    roll, approved = decide(roll, "n-f1", "approve", "2018-06-04", cat, view, facts)
    assert approved[0].data == {"nomination_id": "n-f1", "category_id": cat.id, "nominee_id": "f1",
                                "org_unit_id": "ca", "year": 2018, "decided_on": D("2018-06-04")}
    roll, publicized = decide(roll, "n-f1", "publicize", "2018-06-04", cat, view, facts)
    assert roll.nominations["n-f1"].notice_ends_on == D("2018-06-11")            # Monday + 5 working days
    assert publicized[0].data["notice_ends_on"] == D("2018-06-11")
    for within in ("2018-06-04", "2018-06-08", "2018-06-11"):
        with pytest.raises(Conflict) as info:
            decide(roll, "n-f1", "award", within, cat, view, facts)
        assert list(info.value.errors) == ["decided_on"]
    roll, awarded = decide(roll, "n-f1", "award", "2018-06-12", cat, view, facts)
    n = roll.nominations["n-f1"]
    assert (n.status, n.awarded_on) == ("awarded", D("2018-06-12"))
    assert [e.type for e in awarded] == ["honour_awarded"]
    assert awarded[0].data == {"honour_id": "n-f1", "category_id": cat.id, "category_name": "先进个人",
                               "nominee_kind": "individual", "nominee_id": "f1", "org_unit_id": "ca",
                               "year": 2018, "awarded_on": D("2018-06-12"), "awarding_body": "王哥庄街道党工委",
                               "external": False}
    assert [s for s, _, _ in n.history] == ["nominated", "approved", "publicized", "awarded"]


def test_the_notice_length_is_the_categorys(view, facts):
    cat = category(notice_days=7)
    roll = walked_to("approved", cat, view, facts)
    roll, events = decide(roll, "n-f1", "publicize", "2018-06-08", cat, view, facts)     # a Friday
    assert events[0].data["notice_ends_on"] == D("2018-06-19")
    with pytest.raises(Conflict):
        decide(roll, "n-f1", "award", "2018-06-19", cat, view, facts)
    roll, _ = decide(roll, "n-f1", "award", "2018-06-20", cat, view, facts)
    assert roll.nominations["n-f1"].awarded_on == D("2018-06-20")


def test_the_yearly_quota_is_enforced_naming_the_category(view, facts):
    cat = category(yearly_quota=1)
    roll = None
    for nominee in ("f1", "f2"):
        roll, _ = nominate(roll, nominee, cat, view, facts)
        for decision, on in STEPS["publicized"]:
            roll, _ = decide(roll, f"n-{nominee}", decision, on, cat, view, facts)
    roll, _ = decide(roll, "n-f1", "award", "2018-06-12", cat, view, facts)
    assert roll.awarded == 1
    with pytest.raises(Conflict) as info:
        decide(roll, "n-f2", "award", "2018-06-12", cat, view, facts)
    assert list(info.value.errors) == ["category_id"]
    # another year's roll has its own quota
    other, _ = nominate(None, "f2", cat, view, facts, year=2017)
    for decision, on in STEPS["awarded"]:
        other, _ = decide(other, "n-f2", decision, on, cat, view, facts)
    assert other.awarded == 1


def test_eligibility_is_checked_again_at_award(view, facts):
    cat = category()
    roll = walked_to("publicized", cat, view, facts)
    appraised(facts, "f1", 2018, "unqualified")
    with pytest.raises(Conflict) as info:
        decide(roll, "n-f1", "award", "2018-06-12", cat, view, facts)
    assert list(info.value.errors) == ["nominee_id"]


def test_reject_and_revoke_carry_the_note(view, facts):
    cat = category()
    roll = walked_to("publicized", cat, view, facts)
    rejected, events = decide(roll, "n-f1", "reject", "2018-06-08", cat, view, facts, note="公示期间收到实名举报")
    assert rejected.nominations["n-f1"].history[-1] == ("rejected", D("2018-06-08"), "公示期间收到实名举报")
    assert events[0].type == "nomination_rejected" and events[0].data["note"] == "公示期间收到实名举报"
    roll = walked_to("awarded", cat, view, facts, nominee_id="f2")
    revoked, events = decide(roll, "n-f2", "revoke", "2018-09-01", cat, view, facts, note="违纪")
    assert revoked.nominations["n-f2"].status == "revoked"
    assert revoked.nominations["n-f2"].history[-1] == ("revoked", D("2018-09-01"), "违纪")
    assert [e.type for e in events] == ["honour_revoked"]
    assert events[0].data == {"honour_id": "n-f2", "category_id": cat.id, "nominee_id": "f2", "org_unit_id": "ca",
                              "revoked_on": D("2018-09-01"), "reason": "违纪"}


def test_a_decision_before_the_last_step_or_in_the_future_is_invalid(view, facts):
    cat = category()
    roll = walked_to("approved", cat, view, facts)                # approved on 2018-06-04
    with pytest.raises(InvalidInput) as info:
        decide(roll, "n-f1", "publicize", "2018-06-01", cat, view, facts)
    assert list(info.value.errors) == ["decided_on"]
    with pytest.raises(InvalidInput) as info:
        decide(roll, "n-f1", "publicize", "2018-07-02", cat, view, facts, today=D("2018-07-01"))
    assert list(info.value.errors) == ["decided_on"]
    updated, _ = decide(roll, "n-f1", "publicize", "2018-06-04", cat, view, facts)   # the same day is fine
    assert updated.nominations["n-f1"].status == "publicized"


def test_a_refused_decision_leaves_the_roll_as_it_was(view, facts):
    cat = category()
    roll = walked_to("publicized", cat, view, facts)
    before = roll
    with pytest.raises(Conflict):
        decide(roll, "n-f1", "award", "2018-06-05", cat, view, facts)
    assert roll == before and roll.nominations["n-f1"].status == "publicized"


# -- objections during public notice ----------------------------------------------------------

def objection(on, by="群众", content="反映问题"):
    return {"raised_on": D(on), "by": by, "content": content}


def test_objections_are_recorded_only_while_publicized_and_within_the_notice(view, facts):
    cat = category()
    nominated = walked_to("nominated", cat, view, facts)
    with pytest.raises(Conflict) as info:
        domain.object_to(nominated, "n-f1", objection("2018-06-04"), TODAY)
    assert list(info.value.errors) == ["raised_on"]
    roll = walked_to("publicized", cat, view, facts)              # 2018-06-04 .. 2018-06-11
    for outside in ("2018-06-03", "2018-06-12"):
        with pytest.raises(Conflict) as info:
            domain.object_to(roll, "n-f1", objection(outside), TODAY)
        assert list(info.value.errors) == ["raised_on"]
    roll, events = domain.object_to(roll, "n-f1", objection("2018-06-04", by="张三", content="多次缺席组织生活"), TODAY)
    roll, _ = domain.object_to(roll, "n-f1", objection("2018-06-11"), TODAY)
    publishable(events)
    assert [e.type for e in events] == ["objection_raised"] and events[0].org_unit_id == "ca"
    assert events[0].data == {"nomination_id": "n-f1", "category_id": cat.id, "nominee_id": "f1",
                              "org_unit_id": "ca", "year": 2018, "raised_on": D("2018-06-04"), "by": "张三",
                              "content": "多次缺席组织生活"}
    assert roll.nominations["n-f1"].objections == (
        {"raised_on": D("2018-06-04"), "by": "张三", "content": "多次缺席组织生活"},
        {"raised_on": D("2018-06-11"), "by": "群众", "content": "反映问题"})
    awarded = walked_to("awarded", cat, view, facts)
    with pytest.raises(Conflict):
        domain.object_to(awarded, "n-f1", objection("2018-06-12"), TODAY)
    with pytest.raises(NotFound):
        domain.object_to(roll, "nope", objection("2018-06-05"), TODAY)


# -- honours from higher bodies ----------------------------------------------------------------

def external(title, kind, body="青岛市委、市政府"):
    made, _ = domain.external_category(title, kind, body)
    return made


def test_record_external_collective_goes_straight_to_awarded(view):
    cat = external("上合组织青岛峰会服务保障工作先进集体", "collective")
    command = {"title": cat.name, "nominee_kind": "collective", "nominee_id": "wgz",
               "awarding_body": "青岛市委、市政府", "awarded_on": D("2018-07-20")}
    roll, events = domain.record_external(Roll(cat.id, 2018), "h-1", command, cat, view)
    n = roll.nominations["h-1"]
    assert (n.status, n.org_unit_id, n.year, n.awarded_on) == ("awarded", "wgz", 2018, D("2018-07-20"))
    assert n.history == (("awarded", D("2018-07-20"), "青岛市委、市政府"),)
    assert [e.type for e in publishable(events)] == ["honour_awarded"]
    assert events[0].data == {"honour_id": "h-1", "category_id": cat.id,
                              "category_name": "上合组织青岛峰会服务保障工作先进集体", "nominee_kind": "collective",
                              "nominee_id": "wgz", "org_unit_id": "wgz", "year": 2018,
                              "awarded_on": D("2018-07-20"), "awarding_body": "青岛市委、市政府",
                              "external": True}
    with pytest.raises(NotFound) as info:
        domain.record_external(roll, "h-2", {**command, "nominee_id": "nowhere"}, cat, view)
    assert list(info.value.errors) == ["nominee_id"]


def test_record_external_individual_in_the_members_unit_on_the_day(view):
    cat = external("优秀共产党员", "individual", "中共青岛市委")
    command = {"title": cat.name, "nominee_kind": "individual", "nominee_id": "mover",
               "awarding_body": "中共青岛市委", "awarded_on": D("2018-03-01")}
    roll, events = domain.record_external(Roll(cat.id, 2018), "h-1", command, cat, view)
    assert roll.nominations["h-1"].org_unit_id == "ca" and events[0].org_unit_id == "ca"
    roll, events = domain.record_external(roll, "h-2", {**command, "awarded_on": D("2018-07-01")}, cat, view)
    assert roll.nominations["h-2"].org_unit_id == "cb" and events[0].data["org_unit_id"] == "cb"
    assert events[0].data["nominee_kind"] == "individual"
    with pytest.raises(NotFound) as info:
        domain.record_external(roll, "h-3", {**command, "nominee_id": "nobody"}, cat, view)
    assert list(info.value.errors) == ["nominee_id"]
