"""The store helpers: idempotent batch inserts, the per-document outbox, fingerprints,
and the embedded store's `_id` fast path."""
from datetime import date

import pytest
from pymongo.errors import DuplicateKeyError

from lianxin.catalog import CATALOG
from lianxin.store import ServiceDb, fingerprint, insert_many_new
from tests.support.fakes import fresh_database


@pytest.fixture
def database():
    return fresh_database()


@pytest.fixture
def sdb(database, notified):
    return ServiceDb(database, ("things", "others"), notify=notified)


def envelope(unit_id="u1"):
    return CATALOG.new_event("org_unit_created", {"org_unit_id": unit_id, "name": unit_id, "level": "street",
                                                  "parent_id": None}, source="test", org_unit_id=unit_id)


# -- insert_many_new -------------------------------------------------------------------

def test_insert_many_new_skips_existing_and_repeated_ids(database):
    things = database["things"]
    things.insert_one({"_id": "a", "v": 0})
    inserted = insert_many_new(things, [{"_id": "a", "v": 1}, {"_id": "b", "v": 2},
                                        {"_id": "b", "v": 3}, {"_id": "c", "v": 4}])
    assert inserted == [{"_id": "b", "v": 2}, {"_id": "c", "v": 4}]
    assert sorted((d["_id"], d["v"]) for d in things.find()) == [("a", 0), ("b", 2), ("c", 4)]


def test_insert_many_new_of_only_known_ids_inserts_nothing(database):
    database["things"].insert_many([{"_id": "a"}, {"_id": "b"}])
    assert insert_many_new(database["things"], [{"_id": "b"}, {"_id": "a"}]) == []
    assert insert_many_new(database["things"], []) == []
    assert database["things"].count_documents({}) == 2


# -- the outbox -----------------------------------------------------------------------------

def test_insert_with_events_writes_the_outbox_and_notifies(sdb, notified):
    e = envelope()
    sdb.insert_with_events("things", {"_id": "t1", "v": 1}, [e])
    doc = sdb["things"].find_one({"_id": "t1"})
    assert doc["v"] == 1
    assert [(o["event_id"], o["envelope"]) for o in doc["outbox"]] == [(e["event_id"], e)]
    assert notified.calls == [("things", ["t1"], [e])]


def test_insert_with_events_of_existing_id_raises_and_does_not_notify(sdb, notified):
    sdb.insert_with_events("things", {"_id": "t1"}, [envelope()])
    with pytest.raises(DuplicateKeyError):
        sdb.insert_with_events("things", {"_id": "t1"}, [envelope()])
    assert len(notified.calls) == 1
    assert len(sdb.pending_events()) == 1


def test_pending_events_lists_every_unpublished_event(sdb):
    e1, e2, e3 = envelope("u1"), envelope("u2"), envelope("u3")
    sdb.insert_with_events("things", {"_id": "t1"}, [e1, e2])
    sdb.insert_with_events("others", {"_id": "o1"}, [e3])
    sdb.insert_with_events("things", {"_id": "t2"}, [])
    pending = sdb.pending_events()
    assert [(c, i, e["event_id"]) for c, i, e, _ in pending] == [
        ("things", "t1", e1["event_id"]), ("things", "t1", e2["event_id"]), ("others", "o1", e3["event_id"])]
    assert all(recorded_at.tzinfo is not None for *_, recorded_at in pending)
    assert len(sdb.pending_events(limit=2)) == 2


def test_update_with_events_appends_to_the_outbox(sdb, notified):
    first, second = envelope("u1"), envelope("u2")
    sdb.insert_with_events("things", {"_id": "t1", "v": 1}, [first])
    assert sdb.update_with_events("things", {"_id": "t1"}, {"$set": {"v": 2}}, [second]) is True
    doc = sdb["things"].find_one({"_id": "t1"})
    assert doc["v"] == 2
    assert [o["event_id"] for o in doc["outbox"]] == [first["event_id"], second["event_id"]]
    assert notified.calls[-1] == ("things", ["t1"], [second])


def test_update_with_events_of_missing_document_records_nothing(sdb, notified):
    assert sdb.update_with_events("things", {"_id": "nope"}, {"$set": {"v": 2}}, [envelope()]) is False
    assert notified.calls == []
    assert sdb.pending_events() == []


def test_update_with_events_does_not_mutate_the_callers_update(sdb):
    sdb.insert_with_events("things", {"_id": "t1"}, [])
    update = {"$set": {"v": 2}}
    sdb.update_with_events("things", {"_id": "t1"}, update, [envelope()])
    assert update == {"$set": {"v": 2}}


def test_update_with_events_by_another_field_notifies_the_updated_document(sdb, notified):
    sdb.insert_with_events("things", {"_id": "t1", "code": "A"}, [])
    e = envelope()
    assert sdb.update_with_events("things", {"code": "A"}, {"$set": {"v": 2}}, [e]) is True
    assert notified.calls[-1] == ("things", ["t1"], [e])


def test_insert_many_with_events_inserts_new_documents_with_their_own_events(sdb, notified):
    sdb.insert_with_events("things", {"_id": "t1"}, [])
    e1, e2, e3 = envelope("u1"), envelope("u2"), envelope("u3")
    inserted = sdb.insert_many_with_events("things", [({"_id": "t1"}, [e1]), ({"_id": "t2"}, [e2]),
                                                      ({"_id": "t3"}, [e3])])
    assert inserted == {"t2", "t3"}
    assert [(i, e["event_id"]) for _, i, e, _ in sdb.pending_events()] == [
        ("t2", e2["event_id"]), ("t3", e3["event_id"])]
    assert notified.calls[1:] == [("things", ["t2"], [e2]), ("things", ["t3"], [e3])]


def test_mark_published_pulls_only_confirmed_events(sdb):
    e1, e2, e3 = envelope("u1"), envelope("u2"), envelope("u3")
    sdb.insert_with_events("things", {"_id": "t1", "v": 1}, [e1])
    sdb.update_with_events("things", {"_id": "t1"}, {"$set": {"v": 2}}, [e2])
    sdb.insert_with_events("others", {"_id": "o1"}, [e3])
    sdb.mark_published([("things", "t1", e1["event_id"]), ("others", "o1", e3["event_id"])])
    assert [(c, i, e["event_id"]) for c, i, e, _ in sdb.pending_events()] == [("things", "t1", e2["event_id"])]
    assert sdb["things"].find_one({"_id": "t1"})["v"] == 2


def test_mark_published_twice_is_harmless(sdb):
    e1 = envelope()
    sdb.insert_with_events("things", {"_id": "t1"}, [e1])
    sdb.mark_published([("things", "t1", e1["event_id"])])
    sdb.mark_published([("things", "t1", e1["event_id"])])
    assert sdb.pending_events() == []
    assert sdb["things"].find_one({"_id": "t1"})["outbox"] == []


# -- fingerprint --------------------------------------------------------------------------

def test_fingerprint_ignores_id():
    assert fingerprint({"id": "a", "name": "x"}) == fingerprint({"id": "b", "name": "x"}) == fingerprint({"name": "x"})


def test_fingerprint_ignores_key_order():
    assert fingerprint({"a": 1, "b": {"c": 2, "d": 3}}) == fingerprint({"b": {"d": 3, "c": 2}, "a": 1})


def test_fingerprint_differs_with_the_body():
    assert fingerprint({"name": "x"}) != fingerprint({"name": "y"})
    assert fingerprint({"name": "x"}) != fingerprint({"name": "x", "parent_id": None})


def test_fingerprint_of_dates_equals_fingerprint_of_iso_strings():
    assert fingerprint({"birth_date": date(1970, 5, 1)}) == fingerprint({"birth_date": "1970-05-01"})


# -- the embedded _id fast path --------------------------------------------------------------

@pytest.fixture
def filled(database):
    things = database["things"]
    things.insert_many([{"_id": f"k{i}", "n": i, "even": i % 2 == 0} for i in range(20)] + [{"_id": 7, "n": 7}])
    return things


def ids(cursor):
    return sorted(str(d["_id"]) for d in cursor)


@pytest.mark.parametrize("query", [
    {"_id": "k3"},
    {"_id": 7},
    {"_id": "missing"},
    {"_id": {"$in": ["k1", "k4", "k4", "missing", 7]}},
    {"_id": {"$in": []}},
    {"_id": "k4", "even": True},
    {"_id": "k3", "even": True},
    {"_id": {"$in": ["k1", "k2", "k3"]}, "even": False},
    {"_id": {"$in": ["k1", "k2"]}, "n": {"$gt": 1}},
])
def test_id_fast_path_finds_what_a_scan_finds(filled, query):
    assert ids(filled.find(query)) == ids(filled.find({"$and": [query]}))


def test_id_fast_path_for_find_one_count_update_and_delete(filled):
    assert filled.find_one({"_id": "k5"}) == {"_id": "k5", "n": 5, "even": False}
    assert filled.count_documents({"_id": {"$in": ["k1", "k2", "nope"]}}) == 2
    assert filled.update_many({"_id": {"$in": ["k1", "k2"]}}, {"$set": {"n": -1}}).modified_count == 2
    assert ids(filled.find({"$and": [{"n": -1}]})) == ["k1", "k2"]
    assert filled.delete_one({"_id": "k1", "even": True}).deleted_count == 0
    assert filled.delete_many({"_id": {"$in": ["k1", "k2"]}}).deleted_count == 2
    assert filled.count_documents({"$and": [{"_id": {"$in": ["k1", "k2"]}}]}) == 0


def test_id_operators_other_than_in_still_work(filled):
    assert ids(filled.find({"_id": {"$gte": "k8"}})) == ["k8", "k9"]
    assert ids(filled.find({"_id": {"$in": ["k1"], "$ne": "k1"}})) == []


def test_a_commands_fingerprint_never_changes():
    """Stored request hashes decide repeat vs conflict for ever: the same body
    must give the same print in every version (this one was made by the
    first implementation)."""
    from datetime import date, datetime, timezone

    command = {"id": "x", "member_id": "m1", "done_on": date(2018, 6, 1),
               "speakers": [{"member_id": "a", "on": date(2018, 6, 2)}],
               "at": datetime(2018, 6, 1, 9, 30, tzinfo=timezone.utc),
               "nested": {"d": date(2018, 1, 1), "n": [1, 2]}, "text": "帮办", "none": None}
    assert fingerprint(command) == "2d0d97332e9cb4199f0a7a536d733c12f0e341ab2d0e8bbf8b1546c1fec66831"
    assert fingerprint({**command, "id": "another id"}) == fingerprint(command)
    assert fingerprint({**command, "text": "帮扶"}) != fingerprint(command)
