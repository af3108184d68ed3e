"""Events never carry personal data: no event schema (any type, any version,
at any depth) has an ID number or phone field, and membership's events,
built from commands that hold both, carry neither."""
from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest
from marshmallow import ValidationError, fields

from lianxin.catalog import CATALOG
from lianxin.envelope import encode
from lianxin.personal_data import id_number_check_digit
from services.membership import handlers
from tests.support.fakes import membership_store

ID_NUMBER = "11010519491231002X"
OTHER_ID_NUMBER = "37021219800101123" + id_number_check_digit("37021219800101123")
PHONE = "13987650432"
OTHER_PHONE = "15800001111"
TODAY = date(2018, 12, 31)
PERSONAL_WORDS = ("id_number", "phone", "mobile", "id_card", "identity")
# Fields whose content the schema does not constrain, with why they cannot
# hold personal data; a new one must be reviewed and added here.
FREE_FORM = {
    ("report_published", "summary"): "ReportModel.summary: counts and names of units, series and honours",
    ("report_published", "corrections[]"): "figures of earlier summaries (was/now)",
}


def walk(schema, path=""):
    """(dotted path, field) for every field of `schema`, nested ones included."""
    for name, field in schema.fields.items():
        key = f"{path}{field.data_key or name}"
        yield key, field
        yield from _inner(field, key)


def _inner(field, path):
    if isinstance(field, fields.Nested):
        yield from walk(field.schema, f"{path}.")
    elif isinstance(field, fields.List):
        yield f"{path}[]", field.inner
        yield from _inner(field.inner, f"{path}[]")
    elif isinstance(field, fields.Tuple):
        for i, inner in enumerate(field.tuple_fields):
            yield f"{path}[{i}]", inner
            yield from _inner(inner, f"{path}[{i}]")
    elif isinstance(field, fields.Dict) and field.value_field is not None:
        yield f"{path}{{}}", field.value_field
        yield from _inner(field.value_field, f"{path}{{}}")


def every_event_field():
    for (name, version), event_type in sorted(CATALOG.events.items()):
        for path, field in walk(event_type.schema()):
            yield name, version, path, field


def test_the_walk_sees_nested_fields():
    paths = {(name, path) for name, _, path, _ in every_event_field()}
    assert ("activity_held", "speakers[].role") in paths
    assert ("unit_assessed", "scores{}") in paths
    assert len({name for name, *_ in every_event_field()}) == len(CATALOG.event_types())


def test_no_event_schema_has_a_personal_data_field():
    personal = [f"{name} v{version}: {path}" for name, version, path, _ in every_event_field()
                if any(word in path.rsplit(".", 1)[-1].lower() for word in PERSONAL_WORDS)]
    assert personal == []


def test_free_form_event_fields_are_the_reviewed_ones():
    free = {(name, path) for name, _, path, field in every_event_field()
            if type(field) is fields.Raw or isinstance(field, fields.Dict) and field.value_field is None}
    assert free == set(FREE_FORM)


def test_only_the_member_registered_command_carries_personal_data():
    """Intake commands are not events: membership's registration command has
    both (sealed by membership, never passed on); no other command has any."""
    carrying = {(name, path) for name, command in CATALOG.intake.items() for path, _ in walk(command.schema())
                if any(word in path.rsplit(".", 1)[-1].lower() for word in PERSONAL_WORDS)}
    assert carrying == {("member_registered", "id_number"), ("member_registered", "phone")}


# -- member_registered ---------------------------------------------------------------------------

DATA = {"member_id": "m1", "name": "张三", "gender": "male", "birth_date": "1970-05-01", "org_unit_id": "wgz-c1",
        "branch_id": None, "stage": "full", "stage_since": "1996-07-01", "admitted_on": "1995-07-01"}


@pytest.mark.parametrize("field, value", [("id_number", ID_NUMBER), ("phone", PHONE)])
def test_new_event_refuses_personal_data_in_member_registered(field, value):
    """Producers build events strictly: a field the schema does not have is refused."""
    with pytest.raises(ValidationError) as info:
        CATALOG.new_event("member_registered", {**DATA, field: value}, source="membership", org_unit_id="wgz-c1")
    assert info.value.messages == {field: ["Unknown field."]}


def command(**overrides):
    body = {"id": "m1", "name": "张三", "gender": "male", "birth_date": date(1970, 5, 1), "org_unit_id": "wgz-c1",
            "stage": "full", "stage_since": None, "admitted_on": date(1995, 7, 1),
            "id_number": ID_NUMBER, "phone": PHONE}
    body.update(overrides)
    return body


def intake(data):
    body = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}
    return CATALOG.validate_intake(encode({
        "event_id": str(uuid4()), "event_type": "member_registered", "schema_version": 1,
        "occurred_at": "2018-06-12T09:30:00+08:00", "source": "national-member-system",
        "org_unit_id": data["org_unit_id"], "data": body}))


def test_membership_events_from_commands_with_personal_data_carry_none(notified):
    store = membership_store(notified)
    handlers.create_org_unit(store, {"id": "wgz", "name": "王哥庄街道", "level": "street", "parent_id": None})
    handlers.create_org_unit(store, {"id": "wgz-c1", "name": "港东社区", "level": "community", "parent_id": "wgz"})
    handlers.create_org_unit(store, {"id": "wgz-c2", "name": "晓望社区", "level": "community", "parent_id": "wgz"})
    # HTTP path and intake path, then what happens to members later
    assert handlers.register_member(store, command(), TODAY)["status"] == 201
    assert [r.outcome for r in handlers.intake(store, [intake(command(
        id="m2", name="李四", id_number=OTHER_ID_NUMBER, phone=OTHER_PHONE))], TODAY)] == ["ok"]
    handlers.link_household(store, {"id": "l1", "member_id": "m1", "household_id": "h1", "address": "港东社区1号",
                                    "linked_on": date(2018, 3, 1)}, TODAY)
    assert store.get_member("m1").phone == PHONE and store.get_member("m2").id_number == OTHER_ID_NUMBER

    envelopes = [e for _, _, events in notified.calls for e in events]
    assert {e["event_type"] for e in envelopes} >= {"member_registered", "household_linked"}
    assert len([e for e in envelopes if e["event_type"] == "member_registered"]) == 2
    for envelope in envelopes:
        text = encode(envelope).decode("utf-8")          # as the relay publishes it
        for secret in (ID_NUMBER, OTHER_ID_NUMBER, PHONE, OTHER_PHONE, ID_NUMBER[:17], PHONE[3:]):
            assert secret not in text, envelope["event_type"]
        assert "id_number" not in text and "phone" not in text
        assert CATALOG.validate(text).data is not None          # and each is a valid event
    registered = next(e for e in envelopes if e["event_type"] == "member_registered")
    assert set(registered["data"]) == {"member_id", "name", "gender", "birth_date", "org_unit_id", "branch_id",
                                       "stage", "stage_since", "admitted_on"}
