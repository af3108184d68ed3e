"""lianxin.follow: each instance applies what the others stored, once, and
ends with the model a rebuild from the store would give (no broker here:
several stores over one embedded database stand for several instances)."""
from datetime import datetime, timedelta, timezone

import pytest

from lianxin import follow
from lianxin.follow import Follower, stamped_since
from lianxin.store import ServiceDb
from services.honours.domain import Eligibility
from services.inspections.store import InspectionsStore
from services.reporting import handlers as reporting
from services.reporting.store import ReportingStore
from tests.support.fakes import fresh_database
from tests.unit.test_reporting_domain import member, tree
from tests.unit.test_reporting_rebuild import history, reports

T0 = datetime(2018, 6, 12, 1, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds: float):
        self.now += timedelta(seconds=seconds)


def doc(n: int, stamp: datetime | None) -> dict:
    out = {"_id": f"e{n}", "envelope": {"n": n}}
    if stamp is not None:
        out["received_at"] = stamp
    return out


@pytest.fixture
def collection():
    return fresh_database()["received"]


def follower(collection, clock, applied):
    def apply(docs):
        for d in docs:
            if d["envelope"].get("poison"):
                raise ValueError("breaks the model")
            applied.append(d["_id"])
    return Follower(collection, apply, clock=clock, name="test")


# -- the follower, over fakes ---------------------------------------------------------------

def test_what_another_instance_stored_is_applied_once(collection):
    clock, applied = Clock(), []
    f = follower(collection, clock, applied)
    f.start(clock())
    collection.insert_many([doc(1, clock()), doc(2, clock())])
    clock.advance(0.2)
    assert f.poll() == 2 and sorted(applied) == ["e1", "e2"]
    clock.advance(0.2)
    assert f.poll() == 0
    clock.advance(11)                               # a sweep looks back 30 s: still once
    assert f.poll() == 0 and sorted(applied) == ["e1", "e2"] and f.followed == 2


def test_what_this_instance_applied_itself_is_skipped(collection):
    clock, applied = Clock(), []
    f = follower(collection, clock, applied)
    f.start(clock())
    with f.lock:                                    # the local path: insert, apply, mark
        collection.insert_many([doc(1, clock())])
        f.applied_here(["e1"])
    collection.insert_many([doc(2, clock())])       # another instance's
    clock.advance(0.2)
    assert f.poll() == 1 and applied == ["e2"]


def test_a_slow_commit_is_found_by_the_sweep(collection):
    """On MongoDB a document becomes visible when its write commits, which may
    be a while after its stamp (the embedded store has no such delay)."""
    clock, applied = Clock(), []
    f = follower(collection, clock, applied)
    f._tail = None                                  # polls by stamp only, as on MongoDB
    f.start(clock())
    clock.advance(11)
    f.poll()                                        # a sweep at T0+11 s
    stamped = clock()
    for _ in range(25):                             # polls go on while its writer is stalled ...
        clock.advance(0.2)
        f.poll()
    collection.insert_one(doc(1, stamped))          # ... and commits 5 s after its stamp
    for _ in range(4):
        clock.advance(0.2)
        f.poll()
    assert applied == []                            # the polls' 2 s margin misses it
    clock.advance(5)
    f.poll()                                        # the sweep looks back 30 s
    assert applied == ["e1"]


def test_documents_stamped_before_the_lookback_are_left_to_a_rebuild(collection):
    clock, applied = Clock(), []
    f = follower(collection, clock, applied)
    f.start(clock())
    collection.insert_one(doc(1, clock() - timedelta(seconds=45)))      # stamped before the rebuild's window
    for _ in range(3):
        clock.advance(11)
        f.poll()
    assert applied == []


def test_an_event_that_breaks_the_model_is_skipped_not_retried(collection):
    clock, applied = Clock(), []
    f = follower(collection, clock, applied)
    f.start(clock())
    collection.insert_many([doc(1, clock()), {**doc(2, clock()), "envelope": {"poison": True}}, doc(3, clock())])
    clock.advance(0.2)
    assert f.poll() == 2 and sorted(applied) == ["e1", "e3"] and f.skipped == 1
    clock.advance(11)
    assert f.poll() == 0 and f.skipped == 1


def test_after_a_rebuild_its_own_recent_events_are_not_applied_again(collection):
    clock, applied = Clock(), []
    collection.insert_many([doc(1, clock() - timedelta(seconds=5)), doc(2, clock() - timedelta(hours=2)),
                            doc(3, None)])          # stored before stamps existed
    f = follower(collection, clock, applied)
    f.start(clock(), [(d["_id"], d.get("received_at")) for d in collection.find()])
    assert f.knows("e1") and not f.knows("e2") and not f.knows("e3")   # only what a poll can see again
    clock.advance(11)
    assert f.poll() == 0 and applied == []


def test_applied_ids_are_forgotten_once_no_poll_can_see_them(collection):
    clock, applied = Clock(), []
    f = follower(collection, clock, applied)
    f.start(clock())
    collection.insert_many([doc(n, clock()) for n in range(5)])
    clock.advance(0.2)
    f.poll()
    assert all(f.knows(f"e{n}") for n in range(5))
    for _ in range(8):                              # 80 s > 2 x 30 s lookback + 10 s sweep
        clock.advance(10)
        f.poll()
    assert not any(f.knows(f"e{n}") for n in range(5)) and len(applied) == 5


def test_before_start_there_is_nothing_to_follow(collection):
    clock, applied = Clock(), []
    f = follower(collection, clock, applied)
    collection.insert_one(doc(1, clock()))
    assert f.poll() == 0 and applied == []


def test_the_embedded_poll_walks_back_the_window_only(collection):
    """The newest documents back to a stretch stamped before the window (insertion
    order follows stamps): a million stored events do not make a poll slow."""
    now = T0
    collection.insert_one(doc(0, now))              # recent, but behind 70 older ones: never reached
    collection.insert_many([doc(n, now - timedelta(minutes=5)) for n in range(1, 71)])
    collection.insert_many([doc(100, now), doc(101, None)])
    found = stamped_since(collection, "received_at", now - timedelta(seconds=2))
    assert [i for i, _ in found] == ["e100"]
    assert found[0][1] == now


def test_on_mongodb_a_poll_is_one_query_on_the_stamp():
    calls = []

    class Collection:
        class database:
            class client:       # not mongomock: the MongoDB path
                pass

        def find(self, query, projection):
            calls.append((query, projection))
            return [{"_id": "e1", "received_at": T0.replace(tzinfo=None)}]

    assert stamped_since(Collection(), "received_at", T0) == [("e1", T0)]
    assert calls == [({"received_at": {"$gte": T0}}, {"_id": 1, "received_at": 1})]


# -- the services' stores --------------------------------------------------------------------------

def reporting_pair():
    database = fresh_database()
    return [ReportingStore(ServiceDb(database, ReportingStore.OUTBOX_COLLECTIONS)) for _ in range(2)]


def test_two_reporting_instances_converge_on_the_rebuilt_model():
    a, b = reporting_pair()
    events = history()
    half = len(events) // 2
    reporting.apply_events(a, events[:half])        # the broker spread the deliveries
    reporting.apply_events(b, events[half:])
    a.follow_once()
    b.follow_once()
    whole = ReportingStore(ServiceDb(a.db.db, ReportingStore.OUTBOX_COLLECTIONS))     # a rebuild
    distinct = len({e.event_id for e in events})
    assert a.model.applied == b.model.applied == whole.model.applied == distinct
    assert reports(a.model) == reports(b.model) == reports(whole.model)
    assert len(a.history) == len(b.history) == distinct
    assert a.follow_once() == b.follow_once() == whole.follow_once() == 0


def test_followed_events_invalidate_the_summary_and_as_of_caches():
    a, b = reporting_pair()
    reporting.apply_events(a, tree())
    b.follow_once()
    before = reporting.summary(b, "wgz", *YEAR)
    as_of = b.model_as_of(YEAR[1])
    assert before["members"]["total"] == 0
    reporting.apply_events(a, [member("m1", "c1")])
    assert b.follow_once() == 1
    assert reporting.summary(b, "wgz", *YEAR)["members"]["total"] == 1
    assert b.model_as_of(YEAR[1]) is not as_of
    assert b.last_applied_at is not None


def test_an_event_consumed_here_and_stored_is_not_followed_again():
    a, _ = reporting_pair()
    reporting.apply_events(a, tree())
    applied = a.model.applied
    assert a.follow_once() == 0 and a.model.applied == applied


def test_inspections_instances_share_the_tree():
    database = fresh_database()
    a, b = (InspectionsStore(ServiceDb(database, InspectionsStore.OUTBOX_COLLECTIONS)) for _ in range(2))
    a.apply_events(tree())
    assert not b.view.is_known("ca")
    assert b.follow_once() == len(tree())
    assert b.view.subtree("wgz") == a.view.subtree("wgz")


def test_eligibility_is_the_same_in_any_order():
    occurred = datetime(2018, 6, 12, tzinfo=timezone.utc)
    later = occurred + timedelta(hours=1)
    events = [("member_appraised", {"member_id": "m1", "year": 2018, "grade": "unqualified"}, occurred, "a"),
              ("member_appraised", {"member_id": "m1", "year": 2018, "grade": "qualified"}, later, "b")]
    forward, backward = Eligibility(), Eligibility()
    for e in events:
        forward.apply(*e)
    for e in reversed(events):
        backward.apply(*e)
    assert forward.grades == backward.grades == {("m1", 2018): "qualified"}


YEAR = (datetime(2018, 1, 1).date(), datetime(2018, 12, 31).date())


def test_the_follow_interval_is_what_the_provider_polls_at():
    assert ReportingStore.FOLLOW_INTERVAL == InspectionsStore.FOLLOW_INTERVAL == follow.FOLLOW_INTERVAL


def test_the_embedded_tail_takes_what_was_stored_since_its_previous_walk(collection):
    from lianxin.follow import EmbeddedTail
    tail = EmbeddedTail(collection, "received_at")
    window = T0 - timedelta(seconds=2)
    collection.insert_many([doc(n, T0 - timedelta(minutes=5)) for n in range(100)] + [doc(100, T0)])
    assert [d["_id"] for d in tail.since(window)] == ["e100"]           # first walk: by stamp
    collection.insert_many([doc(101, T0), doc(102, T0 - timedelta(minutes=1))])   # a stalled writer's too
    assert [d["_id"] for d in tail.since(window)] == ["e101", "e102"]   # after the mark, whatever the stamp
    assert tail.since(window) == []
    collection.delete_one({"_id": "e102"})                              # the mark is gone: by stamp again
    collection.insert_one(doc(103, T0))
    assert [d["_id"] for d in tail.since(window)] == ["e100", "e101", "e103"]
