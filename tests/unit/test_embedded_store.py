"""The embedded store's fast paths store and return exactly what mongomock's own
insert and `$pull` would: the documents read back are the same."""
from datetime import date, datetime, timedelta

import pytest
from bson.errors import InvalidDocument
from pymongo.errors import BulkWriteError

from lianxin.envelope import BUSINESS_TZ
from lianxin.store import ServiceDb, insert_many_new
from tests.support.fakes import fresh_database

AWARE = datetime(2018, 6, 12, 9, 30, 15, 123456, tzinfo=BUSINESS_TZ)


def docs():
    return [
        {"_id": "a", "when": AWARE, "naive": datetime(2018, 1, 1, 8, 0, 0, 999999), "n": 1, "f": 1.5,
         "flag": True, "none": None, "text": "王哥庄", "raw": b"\x00\x01",
         "nested": {"list": [1, "x", {"deep": AWARE - timedelta(days=1)}], "tuple": (1, 2)},
         "outbox": [{"event_id": "e1", "recorded_at": AWARE, "envelope": {"data": {"k": [1, 2]}}}]},
        {"_id": 7, "empty": {}, "list": []},
    ]


def read_back(collection):
    return sorted(collection.find(), key=lambda d: str(d["_id"]))


def test_fast_insert_stores_what_mongomocks_insert_stores():
    fast, slow = fresh_database()["things"], fresh_database()["things"]
    assert insert_many_new(fast, docs()) == docs()
    slow.insert_many(docs())
    assert read_back(fast) == read_back(slow)
    stored = fast.find_one({"_id": "a"})
    assert stored["when"] == AWARE.replace(microsecond=123000)      # millisecond precision, as MongoDB
    assert stored["when"].tzinfo is not None                         # read back aware (tz_aware client)
    assert stored["nested"]["tuple"] == [1, 2]


def test_stored_documents_are_copies_not_the_callers_objects():
    things = fresh_database()["things"]
    original = {"_id": "a", "items": [1]}
    insert_many_new(things, [original])
    original["items"].append(2)
    assert things.find_one({"_id": "a"})["items"] == [1]


def test_fast_insert_refuses_what_bson_refuses_with_mongomocks_error():
    things = fresh_database()["things"]
    with pytest.raises(InvalidDocument):
        insert_many_new(things, [{"_id": "a", "day": date(2018, 6, 1)}])   # a date is not BSON
    assert things.count_documents({}) == 0


def test_unique_secondary_indexes_still_hold():
    things = fresh_database()["things"]
    things.create_index("code", unique=True)
    insert_many_new(things, [{"_id": "a", "code": "X"}])
    assert insert_many_new(things, [{"_id": "b", "code": "X"}, {"_id": "c", "code": "Y"}]) == [
        {"_id": "c", "code": "Y"}]                      # the duplicate is skipped, as by mongomock
    assert [d["_id"] for d in things.find()] == ["a", "c"]
    with pytest.raises(BulkWriteError):
        things.insert_many([{"_id": "d", "code": "X"}])


def test_pull_of_published_events_keeps_events_recorded_since():
    db = ServiceDb(fresh_database(), ["things"])

    def entry(event_id):
        return {"event_id": event_id, "recorded_at": AWARE, "envelope": {"event_id": event_id}}

    db["things"].insert_one({"_id": "t", "outbox": [entry("e1"), entry("e2")]})
    db["things"].update_one({"_id": "t"}, {"$push": {"outbox": entry("e3")}})   # after the relay read
    db.mark_published([("things", "t", "e1"), ("things", "t", "e2"), ("things", "gone", "e9")])
    assert [e["event_id"] for e in db["things"].find_one({"_id": "t"})["outbox"]] == ["e3"]
    assert [(c, doc_id, env) for c, doc_id, env, _ in db.pending_events()] == [("things", "t", {"event_id": "e3"})]
    db["things"].update_one({"_id": "t"}, {"$set": {"v": 1}})   # the store is intact after the direct edit
    assert db["things"].find_one({"_id": "t"})["v"] == 1


def test_add_to_list_is_add_to_set_with_upsert_on_both_paths():
    fast = ServiceDb(fresh_database(), [])
    slow = fresh_database()["weeks"]
    for doc_id, value in (("w1", "d1"), ("w1", "d2"), ("w1", "d1"), ("w2", "d3")):
        fast.add_to_list("weeks", doc_id, "deed_ids", value)
        slow.update_one({"_id": doc_id}, {"$addToSet": {"deed_ids": value}}, upsert=True)
    assert read_back(fast["weeks"]) == read_back(slow) == [{"_id": "w1", "deed_ids": ["d1", "d2"]},
                                                           {"_id": "w2", "deed_ids": ["d3"]}]
