"""Membership use cases over a real MembershipStore on a fresh embedded database."""
from datetime import date
from uuid import uuid4

import pytest

from lianxin.catalog import CATALOG
from lianxin.consumer import Result
from lianxin.envelope import encode
from lianxin.errors import Conflict, InvalidInput, NotFound
from lianxin.personal_data import Vault
from services.membership import handlers
from tests.support.fakes import membership_store

TODAY = date(2018, 12, 31)
ID_NUMBER = "11010519491231002X"
STREET = {"id": "wgz", "name": "王哥庄街道", "level": "street", "parent_id": None}
COMMUNITY = {"id": "wgz-c1", "name": "港东社区", "level": "community", "parent_id": "wgz"}


@pytest.fixture
def store(notified):
    return membership_store(notified)


def member(**overrides):
    command = {"id": "m1", "name": "张三", "gender": "male", "birth_date": date(1970, 5, 1),
               "org_unit_id": "wgz-c1", "stage": "full", "stage_since": None,
               "admitted_on": date(1995, 7, 1), "id_number": ID_NUMBER, "phone": "13912345678"}
    command.update(overrides)
    return command


def with_units(store):
    handlers.create_org_unit(store, dict(STREET))
    handlers.create_org_unit(store, dict(COMMUNITY))
    return store


def intake_event(data, event_id=None):
    body = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}
    return CATALOG.validate_intake(encode({
        "event_id": event_id or str(uuid4()), "event_type": "member_registered", "schema_version": 1,
        "occurred_at": "2018-06-12T09:30:00+08:00", "source": "national-member-system",
        "org_unit_id": data.get("org_unit_id"), "data": body,
    }))


# -- org units ----------------------------------------------------------------------------

def test_create_org_unit_returns_201_with_its_path(store):
    with_units(store)
    assert handlers.get_org_unit(store, "wgz-c1")["body"] == {
        "id": "wgz-c1", "name": "港东社区", "level": "community", "parent_id": "wgz", "path": ["wgz", "wgz-c1"],
        "history": []}
    assert [u["id"] for u in handlers.org_unit_children(store, "wgz")["body"]] == ["wgz-c1"]


def test_same_id_same_body_returns_200_with_same_body(store):
    first = handlers.create_org_unit(store, dict(STREET))
    again = handlers.create_org_unit(store, dict(STREET))
    assert first["status"] == 201
    assert again == {"status": 200, "body": first["body"]}
    assert store.db["org_units"].count_documents({}) == 1


def test_same_id_different_body_is_a_conflict(store):
    handlers.create_org_unit(store, dict(STREET))
    with pytest.raises(Conflict) as info:
        handlers.create_org_unit(store, {**STREET, "name": "另一个街道"})
    assert list(info.value.errors) == ["id"]
    assert store.db["org_units"].find_one({"_id": "wgz"})["name"] == "王哥庄街道"


def test_org_unit_outbox_holds_its_created_event(store, notified):
    handlers.create_org_unit(store, dict(STREET))
    doc = store.org_unit_doc("wgz")
    assert [e["envelope"]["event_type"] for e in doc["outbox"]] == ["org_unit_created"]
    assert notified.calls == [("org_units", ["wgz"], [doc["outbox"][0]["envelope"]])]


def test_unknown_parent_stores_nothing(store, notified):
    with pytest.raises(NotFound):
        handlers.create_org_unit(store, dict(COMMUNITY))
    assert store.db["org_units"].count_documents({}) == 0
    assert notified.calls == []


# -- members ----------------------------------------------------------------------------------

def test_register_member_seals_id_number_and_phone(store):
    with_units(store)
    reply = handlers.register_member(store, member(), TODAY)
    assert reply["status"] == 201
    assert reply["body"]["id_number"] == "110***********002X"
    assert reply["body"]["phone"] == "139****5678"
    raw = store.member_doc("m1")
    assert raw["id_number"] != ID_NUMBER and ID_NUMBER not in raw["id_number"]
    assert "13912345678" not in raw["phone"]
    assert raw["id_number_hash"] == Vault("k").lookup_hash(ID_NUMBER)
    assert handlers.get_member(store, "m1", unmasked=True)["body"]["id_number"] == ID_NUMBER


def test_member_outbox_holds_exactly_one_valid_member_registered(store, notified):
    with_units(store)
    handlers.register_member(store, member(), TODAY)
    outbox = store.member_doc("m1")["outbox"]
    assert len(outbox) == 1
    envelope = outbox[0]["envelope"]
    event = CATALOG.validate(encode(envelope))
    assert event.event_type == "member_registered"
    assert outbox[0]["event_id"] == event.event_id
    assert event.org_unit_id == "wgz-c1"
    assert event.data["member_id"] == "m1"
    assert event.data["stage_since"] == date(1996, 7, 1)
    assert "id_number" not in envelope["data"] and "phone" not in envelope["data"]
    assert notified.calls[-1] == ("members", ["m1"], [envelope])


def test_repeated_member_registration_returns_the_stored_member(store):
    with_units(store)
    first = handlers.register_member(store, member(), TODAY)
    assert handlers.register_member(store, member(), TODAY) == {"status": 200, "body": first["body"]}
    assert len(store.member_doc("m1")["outbox"]) == 1


def test_invalid_member_stores_nothing_and_records_no_event(store, notified):
    with_units(store)
    calls_before = len(notified.calls)
    with pytest.raises(InvalidInput) as info:
        handlers.register_member(store, member(admitted_on=date(1980, 1, 1)), TODAY)
    assert list(info.value.errors) == ["admitted_on"]
    with pytest.raises(NotFound):
        handlers.register_member(store, member(org_unit_id="nowhere"), TODAY)
    assert store.db["members"].count_documents({}) == 0
    assert len(notified.calls) == calls_before


# -- intake ---------------------------------------------------------------------------------------

def test_intake_outcomes_ok_duplicate_retry_reject(store):
    with_units(store)
    body = {k: v for k, v in member().items() if k != "id"}
    registered = intake_event(body)
    unknown_unit = intake_event({**body, "org_unit_id": "nowhere"})
    clash = intake_event({**body, "id": registered.event_id, "name": "李四"})

    results = handlers.intake(store, [registered, registered, unknown_unit, clash], TODAY)

    assert [r.outcome for r in results] == ["ok", "duplicate", "retry", "reject"]
    assert results[0] == Result.ok() and results[1] == Result.duplicate()
    assert "nowhere" in results[2].reason
    assert results[3].errors == {"id": [f"{registered.event_id!r} is taken by a different resource"]}
    assert store.get_member(registered.event_id).name == "张三"
    assert store.db["members"].count_documents({}) == 1


def test_intake_uses_event_id_as_member_id_unless_data_names_one(store):
    with_units(store)
    event = intake_event({k: v for k, v in member().items() if k != "id"})
    named = intake_event(member(id="m-named"))
    assert [r.outcome for r in handlers.intake(store, [event, named], TODAY)] == ["ok", "ok"]
    assert store.get_member(event.event_id) is not None
    assert store.get_member("m-named") is not None


def test_intake_rejects_broken_dates_with_their_fields(store):
    with_units(store)
    [result] = handlers.intake(store, [intake_event(member(admitted_on=date(1980, 1, 1)))], TODAY)
    assert result.outcome == "reject"
    assert list(result.errors) == ["admitted_on"]
