"""The weekly points cap across instances: two stores on one database (two
instances of activities) recording deeds of the same member-week at once
never exceed the cap together; a lost race is read again, not lost."""
from datetime import date

import pytest

from lianxin.errors import StaleWrite
from lianxin.store import ServiceDb
from services.activities import handlers, store as store_module
from services.activities.domain import Deed
from services.activities.handlers import no_wait
from services.activities.store import ActivitiesStore
from tests.support.fakes import fresh_database
from tests.unit.test_activities_handlers import POINTS, TODAY, deed, intake_event, outcomes
from tests.unit.test_activities_rules import world

DAY = date(2018, 6, 12)


@pytest.fixture
def instances(notified):
    """Two instances' stores over the same database."""
    database = fresh_database()
    pair = []
    for _ in range(2):
        store = ActivitiesStore(ServiceDb(database, ActivitiesStore.OUTBOX_COLLECTIONS, notify=notified), POINTS)
        pair.append(store)
    pair[0].apply_membership_events(world())
    for store in pair[1:]:
        store.follow_once()
    return pair


def stored_points(store, member_id="f1") -> int:
    return sum(d["points"] for d in store.db["deeds"].find({"member_id": member_id, "category": "patrol"}))


def test_a_week_written_since_it_was_read_is_refused(instances):
    a, b = instances
    seen_by_a = a.points_by_week([("f1", DAY)])
    seen_by_b = b.points_by_week([("f1", DAY)])
    first = Deed("d1", "f1", "ca", DAY, "patrol", "x", "f1", None, 2)
    assert a.add_deeds([(first, "p1", [])], seen_by_a) == ({"d1"}, set())
    second = Deed("d2", "f1", "ca", DAY, "patrol", "x", "f1", None, 2)
    assert b.add_deeds([(second, "p2", [])], seen_by_b) == (set(), {"d2"})     # not written
    assert b.deed_doc("d2") is None
    assert b.points_by_week([("f1", DAY)]).earned("f1", "patrol", DAY) == 2


def test_concurrent_batches_of_one_member_week_keep_the_cap(instances):
    a, b = instances
    read = b.points_by_week

    def read_then_lose_the_race(member_days):
        weeks = read(member_days)       # b has read the week ...
        if not getattr(read_then_lose_the_race, "done", False):
            read_then_lose_the_race.done = True     # ... and a records a deed of it meanwhile
            assert outcomes(handlers.intake(a, [intake_event("deed_recorded", deed(id="da"))], TODAY)) == ["ok"]
        return weeks
    b.points_by_week = read_then_lose_the_race
    results = handlers.intake(b, [intake_event("deed_recorded", deed(id="db1")),
                                  intake_event("deed_recorded", deed(id="db2"))], TODAY)
    assert outcomes(results) == ["ok", "ok"]
    # 2 (a's), then 1 and 0 (b's, computed again from a fresh read): the cap of 3 held.
    assert stored_points(a) == 3
    assert {d["_id"]: d["points"] for d in a.db["deeds"].find()} == {"da": 2, "db1": 1, "db2": 0}


def test_deeds_of_other_weeks_in_the_batch_are_written_once(instances):
    a, b = instances
    read = b.points_by_week
    calls = []

    def lose_once(member_days):
        weeks = read(member_days)
        calls.append(len(member_days))
        if len(calls) == 1:
            handlers.intake(a, [intake_event("deed_recorded", deed(id="da"))], TODAY)
        return weeks
    b.points_by_week = lose_once
    results = handlers.intake(b, [intake_event("deed_recorded", deed(id="other", member_id="f2")),
                                  intake_event("deed_recorded", deed(id="db"))], TODAY)
    assert outcomes(results) == ["ok", "ok"]
    assert calls == [2, 1]                      # only the stale week's deed was taken again
    assert stored_points(a, "f2") == 2 and stored_points(a) == 3


def test_a_week_that_keeps_changing_is_retried_through_the_tiers(instances, monkeypatch):
    a, b = instances
    read = b.points_by_week
    n = iter(range(100))

    def always_lose(member_days):
        weeks = read(member_days)
        handlers.intake(a, [intake_event("deed_recorded", deed(id=f"da{next(n)}"))], TODAY)
        return weeks
    b.points_by_week = always_lose
    results = handlers.intake(b, [intake_event("deed_recorded", deed(id="db"))], TODAY)
    assert outcomes(results) == ["retry"]
    assert b.deed_doc("db") is None
    assert stored_points(a) == 3


def test_http_record_deed_reads_again_after_losing_the_race(instances):
    a, b = instances
    read = b.points_by_week

    def lose_once(member_days):
        weeks = read(member_days)
        if not getattr(lose_once, "done", False):
            lose_once.done = True
            handlers.record_deed(a, deed(id="da"), TODAY, settle=no_wait)
        return weeks
    b.points_by_week = lose_once
    answer = handlers.record_deed(b, deed(id="db"), TODAY, settle=no_wait)
    assert answer["status"] == 201 and answer["body"]["points"] == 1
    assert stored_points(a) == 3


def test_http_record_deed_gives_up_with_a_stale_write(instances):
    a, b = instances
    read = b.points_by_week
    n = iter(range(100))

    def always_lose(member_days):
        weeks = read(member_days)
        handlers.record_deed(a, deed(id=f"da{next(n)}", category="other"), TODAY, settle=no_wait)
        return weeks
    b.points_by_week = always_lose
    with pytest.raises(StaleWrite):
        handlers.record_deed(b, deed(id="db", category="other"), TODAY, settle=no_wait)


def test_a_deed_noted_but_not_written_yet_counts_for_a_while(instances, monkeypatch):
    a, _ = instances
    weeks = a.points_by_week([("f1", DAY)])
    key = a._week_key("f1", DAY)
    pending = Deed("d-pending", "f1", "ca", DAY, "patrol", "x", "f1", None, 2)
    assert a._reserve_in_week(key, weeks.rev(key), [pending])     # its writer is between the two writes
    assert a.points_by_week([("f1", DAY)]).earned("f1", "patrol", DAY) == 2
    assert a.points_by_week([("f1", DAY)]).earned("f1", "patrol", DAY, excluding="d-pending") == 0
    later = store_module.time.time() + store_module.RESERVATION_SECONDS + 1
    monkeypatch.setattr(store_module.time, "time", lambda: later)
    assert a.points_by_week([("f1", DAY)]).earned("f1", "patrol", DAY) == 0    # its writer is gone
    assert a.deeds_of(["f1"], "2018-W24") == []


def test_weeks_noted_before_revs_existed_are_guarded_too(instances):
    a, b = instances
    key = a._week_key("f1", DAY)
    handlers.intake(a, [intake_event("deed_recorded", deed(id="d0"))], TODAY)
    a.db["deed_weeks"].update_one({"_id": key}, {"$unset": {"rev": "", "reserved": ""}})   # as stored before
    seen_by_a = a.points_by_week([("f1", DAY)])
    seen_by_b = b.points_by_week([("f1", DAY)])
    assert seen_by_a.rev(key) == 0 and seen_by_a.earned("f1", "patrol", DAY) == 2
    one = Deed("d1", "f1", "ca", DAY, "patrol", "x", "f1", None, 1)
    two = Deed("d2", "f1", "ca", DAY, "patrol", "x", "f1", None, 1)
    assert a.add_deeds([(one, "p1", [])], seen_by_a)[0] == {"d1"}
    assert b.add_deeds([(two, "p2", [])], seen_by_b)[1] == {"d2"}
