"""Honours use cases over a real HonoursStore on a fresh embedded database, its
read models fed with membership's, activities' and inspections' events;
commands go through the service's schemas first."""
from datetime import date, timedelta

import pytest

from lianxin.catalog import CATALOG
from lianxin.commands import load, no_wait
from lianxin.errors import Conflict, InvalidInput, NotFound
from lianxin.store import ServiceDb
from services.honours import handlers
from services.honours.domain import external_category_id
from services.honours.schemas import COMMANDS
from services.honours.store import HonoursStore
from tests.support.fakes import fresh_database
from tests.unit.test_activities_handlers import intake_event, outcomes
from tests.unit.test_honours_rules import world
from tests.unit.test_reporting_domain import D, OCCURRED, member, unit
from tests.unit.test_reporting_inspections import planned, reopened, verified

# world(): zones() (wgz street; zone za: ca, ca2 with grid g; zone zb: cb) with
# ca: f1, f2, f3 full, p1 probationary, a1 applicant, gone (left 2018-05-01); mover ca -> cb on 2018-04-10;
# cb: cb1 full; g: g1 full.
NOMINATED_ON = D("2018-06-01")
TODAY = D("2018-12-31")
SHANGHE = "上合组织青岛峰会服务保障工作先进集体"
QINGDAO = "青岛市委、市政府"


@pytest.fixture
def store(notified):
    store = HonoursStore(ServiceDb(fresh_database(), HonoursStore.OUTBOX_COLLECTIONS, notify=notified))
    store.apply_events(world())
    return store


def pending(store) -> list[str]:
    """The types of the events recorded and not yet published (honours' outbox)."""
    return [envelope["event_type"] for _, _, envelope, _ in store.db.pending_events()]


def command(name, body):
    """A body as the gateway would pass it, loaded by the service's schema."""
    def plain(value):
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value
    return load(COMMANDS[name], plain(body))


def activities_event(event_type, data):
    return CATALOG.validate(CATALOG.new_event(event_type, data, source="activities",
                                              org_unit_id=data.get("org_unit_id"), occurred_at=OCCURRED))


def appraised(member_id, year, grade, unit_id="ca"):
    return activities_event("member_appraised", {"member_id": member_id, "org_unit_id": unit_id, "year": year,
                                                 "grade": grade})


def category_body(category_id="xj-gr", kind="individual", **extra):
    return {"id": category_id, "name": {"individual": "先进个人", "collective": "先进集体"}[kind],
            "nominee_kind": kind, "awarding_body": "王哥庄街道党工委", **extra}


def create_category(store, category_id="xj-gr", kind="individual", **extra):
    return handlers.create_category(store, command("create_category", category_body(category_id, kind, **extra)))


def nominate(store, nominee_id, category_id="xj-gr", year=2018, nomination_id=None, today=NOMINATED_ON, **extra):
    body = {"id": nomination_id or f"n-{nominee_id}", "category_id": category_id, "nominee_id": nominee_id,
            "year": year, "reason": "事迹突出", **extra}
    return handlers.nominate(store, command("nominate", body), today, settle=no_wait)


def decide(store, nomination_id, decision, on, note=None, today=TODAY):
    body = {"decision": decision, "decided_on": on}
    if note:
        body["note"] = note
    return handlers.decide(store, nomination_id, command("decide", body), today)


def through_notice(store, nomination_id, award_on="2018-06-12"):
    """Approve and publicize on Monday 2018-06-04 (notice to 2018-06-11), award after it."""
    decide(store, nomination_id, "approve", "2018-06-04")
    decide(store, nomination_id, "publicize", "2018-06-04")
    return decide(store, nomination_id, "award", award_on)


def honour_intake(nominee_id, kind="collective", title=SHANGHE, body=QINGDAO, on="2018-07-20", event_id=None):
    return intake_event("honour_awarded", {"title": title, "nominee_kind": kind, "nominee_id": nominee_id,
                                           "awarding_body": body, "awarded_on": D(on)}, event_id)


# -- the nomination cycle --------------------------------------------------------------------

def test_a_full_nomination_cycle_emits_each_step(store, notified):
    assert create_category(store)["status"] == 201
    created = nominate(store, "f1")
    assert created["status"] == 201
    assert (created["body"]["status"], created["body"]["org_unit_id"]) == ("nominated", "ca")
    decide(store, "n-f1", "approve", "2018-06-04")
    publicized = decide(store, "n-f1", "publicize", "2018-06-04")
    assert publicized["status"] == 200 and publicized["body"]["notice_ends_on"] == "2018-06-11"
    with pytest.raises(Conflict) as info:
        decide(store, "n-f1", "award", "2018-06-11")
    assert list(info.value.errors) == ["decided_on"]
    awarded = decide(store, "n-f1", "award", "2018-06-12")
    assert awarded["status"] == 200
    body = handlers.get_nomination(store, "n-f1")["body"]
    assert (body["status"], body["awarded_on"], body["notice_ends_on"]) == ("awarded", "2018-06-12", "2018-06-11")
    assert [(h["status"], h["on"]) for h in body["history"]] == [
        ("nominated", "2018-06-01"), ("approved", "2018-06-04"), ("publicized", "2018-06-04"),
        ("awarded", "2018-06-12")]
    assert pending(store) == ["honour_category_created", "nomination_submitted", "nomination_approved",
                              "nomination_publicized", "honour_awarded"]
    assert notified.types() == pending(store)
    awarded_event = next(e for _, _, events in notified.calls for e in events if e["event_type"] == "honour_awarded")
    assert awarded_event["org_unit_id"] == "ca" and awarded_event["source"] == "honours"
    assert awarded_event["data"]["category_name"] == "先进个人"
    assert awarded_event["data"]["awarding_body"] == "王哥庄街道党工委"


def test_objections_and_rejection_through_the_handlers(store):
    create_category(store)
    nominate(store, "f1")
    decide(store, "n-f1", "approve", "2018-06-04")
    decide(store, "n-f1", "publicize", "2018-06-04")
    body = command("object_to", {"raised_on": "2018-06-06", "by": "张三", "content": "多次缺席组织生活"})
    answer = handlers.object_to(store, "n-f1", body, TODAY)
    assert answer["body"]["objections"] == [{"raised_on": "2018-06-06", "by": "张三", "content": "多次缺席组织生活"}]
    with pytest.raises(Conflict):
        handlers.object_to(store, "n-f1", command("object_to", {"raised_on": "2018-06-12", "by": "李四",
                                                                "content": "迟到"}), TODAY)
    rejected = decide(store, "n-f1", "reject", "2018-06-12", note="反映属实")
    assert rejected["body"]["status"] == "rejected"
    assert rejected["body"]["history"][-1] == {"status": "rejected", "on": "2018-06-12", "note": "反映属实"}
    assert pending(store) == ["honour_category_created", "nomination_submitted", "nomination_approved",
                              "nomination_publicized", "objection_raised", "nomination_rejected"]
    with pytest.raises(InvalidInput) as info:                    # the schema wants the reason
        command("decide", {"decision": "revoke", "decided_on": "2018-06-13"})
    assert "note" in info.value.errors
    with pytest.raises(NotFound):
        decide(store, "nope", "approve", "2018-06-04")
    with pytest.raises(NotFound):
        handlers.get_nomination(store, "nope")


# -- idempotent client ids -------------------------------------------------------------------

def test_category_client_ids_are_idempotent(store):
    first = create_category(store, yearly_quota=3)
    again = create_category(store, yearly_quota=3)
    assert (first["status"], again["status"]) == (201, 200) and again["body"] == first["body"]
    assert first["body"] == {"id": "xj-gr", "name": "先进个人", "nominee_kind": "individual",
                             "awarding_body": "王哥庄街道党工委", "yearly_quota": 3, "notice_days": 5,
                             "exclude_overdue_rectification": False, "external": False}
    with pytest.raises(Conflict) as info:
        create_category(store, yearly_quota=4)
    assert info.value.status == 409 and "id" in info.value.errors
    assert handlers.get_category(store, "xj-gr")["body"]["yearly_quota"] == 3
    assert pending(store) == ["honour_category_created"]
    with pytest.raises(NotFound):
        handlers.get_category(store, "nope")


def test_nomination_client_ids_are_idempotent(store):
    create_category(store)
    first = nominate(store, "f1")
    again = nominate(store, "f1")
    assert (first["status"], again["status"]) == (201, 200) and again["body"] == first["body"]
    with pytest.raises(Conflict) as info:
        nominate(store, "f1", reason="另一份材料")
    assert info.value.status == 409 and "id" in info.value.errors
    with pytest.raises(Conflict) as info:                         # the same id for another nominee
        nominate(store, "f2", nomination_id="n-f1")
    assert "id" in info.value.errors
    assert pending(store) == ["honour_category_created", "nomination_submitted"]
    # a repeat after a decision answers with the nomination as it is now
    decide(store, "n-f1", "approve", "2018-06-04")
    assert nominate(store, "f1")["body"]["status"] == "approved"


def test_nominating_in_an_unknown_category_is_not_found(store):
    with pytest.raises(NotFound) as info:
        nominate(store, "f1", category_id="nope")
    assert list(info.value.errors) == ["category_id"]


# -- quota -----------------------------------------------------------------------------------

def test_the_quota_holds_across_two_nominations(store):
    create_category(store, yearly_quota=1)
    nominate(store, "f1")
    nominate(store, "f2")
    through_notice(store, "n-f1")
    decide(store, "n-f2", "approve", "2018-06-04")
    decide(store, "n-f2", "publicize", "2018-06-04")
    with pytest.raises(Conflict) as info:
        decide(store, "n-f2", "award", "2018-06-12")
    assert list(info.value.errors) == ["category_id"]
    assert handlers.get_nomination(store, "n-f2")["body"]["status"] == "publicized"
    assert pending(store).count("honour_awarded") == 1


# -- eligibility from other services' events --------------------------------------------------

def test_eligibility_comes_from_the_events_the_store_took_in(store):
    create_category(store, exclude_overdue_rectification=True)
    store.apply_events([appraised("f1", 2018, "unqualified"), planned("fd1", "cb", "2018-05-31")])
    with pytest.raises(Conflict) as info:
        nominate(store, "f1")
    assert "nominee_id" in info.value.errors and "2018" in info.value.errors["nominee_id"][0]
    with pytest.raises(Conflict) as info:
        nominate(store, "cb1")
    assert "overdue rectification" in info.value.errors["nominee_id"][0]
    store.apply_events([verified("fd1", "cb", "2018-06-01", occurred_at=OCCURRED + timedelta(hours=1))])
    assert nominate(store, "cb1")["status"] == 201
    # a member registered later is nominated once membership's event has arrived
    with pytest.raises(NotFound):
        nominate(store, "late")
    store.apply_events([member("late", "ca2")])
    assert nominate(store, "late")["body"]["org_unit_id"] == "ca2"


def test_events_are_taken_once(store):
    extra = appraised("f2", 2018, "excellent")
    assert outcomes(handlers.apply_events(store, [extra, extra])) == ["ok", "duplicate"]
    assert outcomes(handlers.apply_events(store, [extra])) == ["duplicate"]
    assert store.eligibility.grades[("f2", 2018)] == "excellent"


def eligibility_answers(store):
    return (dict(store.eligibility.grades),
            {(u, d): store.eligibility.overdue_in(u, D(d)) for u in ("ca", "cb", "g")
             for d in ("2018-05-31", "2018-06-01", "2018-06-10", "2018-06-25")},
            {m: (store.view.member(m).unit_on(D("2018-06-30")), store.view.member(m).counted_on(D("2018-06-30")))
             for m in ("f1", "gone", "mover", "late")})


def test_rebuilding_from_stored_inputs_gives_the_live_eligibility(store):
    store.apply_events([appraised("f1", 2018, "unqualified"), appraised("f2", 2018, "excellent"),
                        appraised("cb1", 2017, "unqualified", unit_id="cb"),
                        planned("fd1", "ca", "2018-05-31"),
                        verified("fd1", "ca", "2018-06-05", occurred_at=OCCURRED + timedelta(hours=1)),
                        reopened("fd1", "ca", "2018-06-20", occurred_at=OCCURRED + timedelta(hours=2)),
                        planned("fd2", "cb", "2018-06-08"), member("late", "g")])
    live = eligibility_answers(store)
    assert live[0] == {("f1", 2018): "unqualified", ("f2", 2018): "excellent", ("cb1", 2017): "unqualified"}
    assert live[1][("ca", "2018-06-01")] == 1 and live[1][("ca", "2018-06-10")] == 0
    assert live[1][("ca", "2018-06-25")] == 1 and live[1][("cb", "2018-06-10")] == 1
    store.rebuild()
    assert eligibility_answers(store) == live
    restarted = HonoursStore(store.db)                             # a restart rebuilds too
    assert eligibility_answers(restarted) == live
    create_category(restarted)
    with pytest.raises(Conflict):
        nominate(restarted, "f1")


# -- honours from higher bodies (intake) ----------------------------------------------------------

def test_intake_honour_awarded_twice_is_ok_then_duplicate_with_one_external_category(store, notified):
    event = honour_intake("wgz")
    assert outcomes(handlers.intake(store, [event])) == ["ok"]
    assert outcomes(handlers.intake(store, [event])) == ["duplicate"]
    second = honour_intake("ca", on="2018-07-20")
    assert outcomes(handlers.intake(store, [second])) == ["ok"]
    category_id = external_category_id(SHANGHE, QINGDAO)
    assert store.db["categories"].count_documents({}) == 1
    assert handlers.get_category(store, category_id)["body"] == {
        "id": category_id, "name": SHANGHE, "nominee_kind": "collective", "awarding_body": QINGDAO,
        "yearly_quota": None, "notice_days": 0, "exclude_overdue_rectification": False, "external": True}
    assert pending(store) == ["honour_category_created", "honour_awarded", "honour_awarded"]
    honour = handlers.get_nomination(store, event.event_id)["body"]
    assert (honour["status"], honour["org_unit_id"], honour["awarded_on"]) == ("awarded", "wgz", "2018-07-20")
    awarded = [e for _, _, events in notified.calls for e in events if e["event_type"] == "honour_awarded"]
    assert [e["data"]["honour_id"] for e in awarded] == [event.event_id, second.event_id]
    assert awarded[0]["data"]["awarding_body"] == QINGDAO and awarded[0]["data"]["category_name"] == SHANGHE


def test_intake_of_an_individual_honour_lands_in_the_members_unit(store):
    event = honour_intake("mover", kind="individual", title="优秀共产党员", body="中共青岛市委", on="2018-07-01")
    assert outcomes(handlers.intake(store, [event])) == ["ok"]
    assert handlers.get_nomination(store, event.event_id)["body"]["org_unit_id"] == "cb"


def test_intake_for_an_unknown_unit_is_retried_and_lands_once_it_is_known(store):
    event = honour_intake("newcomm")
    assert outcomes(handlers.intake(store, [event])) == ["retry"]
    assert "honour_awarded" not in pending(store)
    assert store.db["rolls"].count_documents({}) == 0
    store.apply_events([unit("newcomm", "community", "zb")])
    assert outcomes(handlers.intake(store, [event])) == ["ok"]
    assert pending(store).count("honour_awarded") == 1
    assert pending(store).count("honour_category_created") == 1


def test_intake_takes_only_honour_awarded(store):
    other = intake_event("activity_held", {"kind": "theme_day", "title": "主题党日", "org_unit_id": "ca",
                                           "held_on": D("2018-06-01"), "attendee_ids": ["f1"], "absentees": [],
                                           "speakers": [], "minutes": None})
    assert outcomes(handlers.intake(store, [other])) == ["reject"]
    assert pending(store) == []


def test_an_external_category_cannot_be_nominated_for(store):
    handlers.intake(store, [honour_intake("wgz")])
    with pytest.raises(Conflict) as info:
        nominate(store, "ca", category_id=external_category_id(SHANGHE, QINGDAO))
    assert list(info.value.errors) == ["category_id"]


# -- the register -------------------------------------------------------------------------------

@pytest.fixture
def honoured(store):
    """f1 (ca), g1 (g) and cb (collective) honoured in 2018; f2 (ca) for 2017; g1's revoked; za by Qingdao."""
    create_category(store)
    create_category(store, "xj-jt", kind="collective")
    for nominee, category_id, year in (("f1", "xj-gr", 2018), ("g1", "xj-gr", 2018), ("cb", "xj-jt", 2018),
                                       ("f2", "xj-gr", 2017), ("cb1", "xj-gr", 2018)):
        nominate(store, nominee, category_id, year)
    through_notice(store, "n-f1")
    through_notice(store, "n-g1", award_on="2018-06-13")
    through_notice(store, "n-cb", award_on="2018-06-14")
    through_notice(store, "n-f2", award_on="2018-06-15")
    decide(store, "n-g1", "revoke", "2018-09-01", note="违纪")
    decide(store, "n-cb1", "approve", "2018-06-04")                # not awarded: not on the register
    handlers.intake(store, [honour_intake("za")])
    return store


def register(store, unit_id=None, year=None, member_id=None):
    body = handlers.register(store, unit_id, year, member_id)["body"]
    return [(r["nominee_id"], r["category"]) for r in body["honours"]]


def test_register_lists_who_for_what_when_and_by_whom(honoured):
    body = handlers.register(honoured, None, None)["body"]
    assert body["count"] == 4
    assert body["honours"][0] == {"honour_id": "n-f1", "category_id": "xj-gr", "category": "先进个人",
                                  "awarding_body": "王哥庄街道党工委", "nominee_kind": "individual",
                                  "nominee_id": "f1", "org_unit_id": "ca", "year": 2018, "awarded_on": "2018-06-12"}
    assert register(honoured) == [("f1", "先进个人"), ("cb", "先进集体"), ("f2", "先进个人"), ("za", SHANGHE)]
    assert body["honours"][-1]["awarding_body"] == QINGDAO


def test_register_by_unit_subtree_year_and_member(honoured):
    assert register(honoured, "za") == [("f1", "先进个人"), ("f2", "先进个人"), ("za", SHANGHE)]
    assert register(honoured, "ca") == [("f1", "先进个人"), ("f2", "先进个人")]
    assert register(honoured, "zb") == [("cb", "先进集体")]
    assert register(honoured, "g") == []                           # g1's honour was revoked
    assert register(honoured, "wgz", 2018) == [("f1", "先进个人"), ("cb", "先进集体"), ("za", SHANGHE)]
    assert register(honoured, "wgz", 2017) == [("f2", "先进个人")]
    assert register(honoured, None, 2016) == []
    assert register(honoured, member_id="f1") == [("f1", "先进个人")]      # a member's honours on their record
    assert register(honoured, "zb", member_id="f1") == []
    with pytest.raises(NotFound):
        handlers.register(honoured, "nowhere", None)


# -- refusals write nothing ------------------------------------------------------------------------

def test_refused_commands_leave_no_new_event_in_the_outbox(store, notified):
    create_category(store, yearly_quota=1)
    nominate(store, "f1")
    nominate(store, "f2")
    through_notice(store, "n-f1")
    decide(store, "n-f2", "approve", "2018-06-04")
    before, calls = pending(store), len(notified.calls)
    refusals = [
        lambda: nominate(store, "nobody"),                                         # unknown member
        lambda: nominate(store, "p1"),                                             # probationary
        lambda: nominate(store, "gone"),                                           # left
        lambda: nominate(store, "f1", nomination_id="n-f1-again"),                 # nominated already
        lambda: nominate(store, "f3", year=2019),                                  # future year
        lambda: decide(store, "n-f2", "award", "2018-06-20"),                      # not publicized
        lambda: decide(store, "n-f1", "approve", "2018-06-20"),                    # awarded already
        lambda: decide(store, "n-f2", "publicize", "2018-06-01"),                  # before the last step
        lambda: decide(store, "n-f2", "publicize", "2019-01-02"),                  # in the future
        lambda: handlers.object_to(store, "n-f2", command("object_to", {"raised_on": "2018-06-05", "by": "x",
                                                                        "content": "y"}), TODAY),   # not publicized
    ]
    for refuse in refusals:
        with pytest.raises((Conflict, NotFound, InvalidInput)):
            refuse()
    decide(store, "n-f2", "publicize", "2018-06-04")
    with pytest.raises(Conflict):
        decide(store, "n-f2", "award", "2018-06-12")                               # quota used up
    assert pending(store) == before + ["nomination_publicized"]
    assert len(notified.calls) == calls + 1
