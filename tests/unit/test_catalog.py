"""The event catalog and the envelope: what producers emit and consumers accept."""
import json
from datetime import date, datetime

import pytest
from marshmallow import ValidationError

from lianxin.catalog import CATALOG, InvalidEvent
from lianxin.envelope import BUSINESS_TZ, Event, encode

OCCURRED = datetime(2018, 6, 12, 9, 30, tzinfo=BUSINESS_TZ)
UNIT_DATA = {"org_unit_id": "wgz", "name": "王哥庄街道", "level": "street", "parent_id": "laoshan"}
MEMBER_BODY = {
    "name": "张三", "gender": "male", "birth_date": "1970-05-01", "org_unit_id": "wgz-c1",
    "stage": "full", "admitted_on": "1995-07-01", "id_number": "11010519491231002X",
    "phone": "13912345678",
}


def unit_envelope(**overrides):
    envelope = CATALOG.new_event("org_unit_created", UNIT_DATA, source="membership",
                                 org_unit_id="wgz", occurred_at=OCCURRED)
    envelope.update(overrides)
    return envelope


def intake_envelope(data, event_type="member_registered"):
    return {
        "event_id": "0b7c4f0e-3a3e-4b8e-9a51-7f0d2f6c1a11", "event_type": event_type,
        "schema_version": 1, "occurred_at": "2018-06-12T09:30:00+08:00",
        "source": "national-member-system", "org_unit_id": "wgz-c1", "data": data,
    }


def errors_of(raw, validate=CATALOG.validate) -> dict:
    with pytest.raises(InvalidEvent) as info:
        validate(raw)
    return info.value.errors


# -- round trip -----------------------------------------------------------------

def test_new_event_builds_a_complete_envelope():
    envelope = unit_envelope()
    assert envelope["event_type"] == "org_unit_created"
    assert envelope["schema_version"] == 1
    assert envelope["occurred_at"] == "2018-06-12T09:30:00+08:00"
    assert envelope["source"] == "membership"
    assert envelope["org_unit_id"] == "wgz"
    assert envelope["correlation_id"] is None
    assert envelope["data"] == UNIT_DATA


def test_envelope_round_trips_from_dict():
    envelope = unit_envelope()
    event = CATALOG.validate(envelope)
    assert isinstance(event, Event)
    assert event.envelope == envelope
    assert event.data == UNIT_DATA
    assert event.event_type == "org_unit_created"
    assert event.org_unit_id == "wgz"
    assert event.occurred_at == OCCURRED


def test_envelope_round_trips_from_json_bytes():
    envelope = unit_envelope()
    event = CATALOG.validate(encode(envelope))
    assert event.envelope == envelope
    assert event.event_id == envelope["event_id"]


def test_an_exact_body_is_kept_as_received_and_anything_else_is_encoded_afresh():
    envelope = unit_envelope()
    spaced = json.dumps(envelope, ensure_ascii=True, indent=1)      # another producer's spelling
    event = CATALOG.validate(spaced.encode("utf-8"))
    assert event.wire == spaced and event.json_text == spaced
    with_extra = CATALOG.validate(encode({**envelope, "trace": "x"}))  # an unknown envelope field is dropped
    without_correlation = {k: v for k, v in envelope.items() if k != "correlation_id"}
    defaulted = CATALOG.validate(encode(without_correlation))        # correlation_id defaulted to null
    for event, expected in ((with_extra, envelope), (defaulted, envelope)):
        assert event.wire is None
        assert json.loads(event.json_text) == expected == event.envelope
    assert CATALOG.validate(envelope).wire is None                   # given as a dict: no text to keep
    utf16 = CATALOG.validate(json.dumps(envelope).encode("utf-16"))   # JSON, but not UTF-8 text
    assert utf16.wire is None and json.loads(utf16.json_text) == envelope


def test_new_event_serialises_dates_and_consumer_loads_them_back():
    data = {"member_id": "m1", "name": "李四", "gender": "female", "birth_date": date(1980, 1, 2),
            "org_unit_id": "wgz-c1", "stage": "probationary", "stage_since": date(2018, 3, 1),
            "admitted_on": date(2018, 3, 1)}
    envelope = CATALOG.new_event("member_registered", data, source="membership",
                                 org_unit_id="wgz-c1", occurred_at=OCCURRED)
    assert envelope["data"]["birth_date"] == "1980-01-02"
    assert json.loads(encode(envelope))["data"]["admitted_on"] == "2018-03-01"
    assert CATALOG.validate(encode(envelope)).data == {**data, "branch_id": None}  # defaults filled in


# -- every bad envelope field named -------------------------------------------------

def test_event_id_must_be_a_uuid():
    assert "event_id" in errors_of(unit_envelope(event_id="not-a-uuid"))


def test_naive_occurred_at_is_refused():
    errors = errors_of(unit_envelope(occurred_at="2018-06-12T09:30:00"))
    assert list(errors) == ["occurred_at"]
    assert "offset" in errors["occurred_at"][0]


def test_schema_version_as_string_is_refused():
    assert list(errors_of(unit_envelope(schema_version="1"))) == ["schema_version"]


def test_unknown_event_type_is_refused():
    errors = errors_of(unit_envelope(event_type="meteor_landed"))
    assert list(errors) == ["event_type"]
    assert "meteor_landed" in errors["event_type"][0]


def test_data_must_be_a_dict():
    assert list(errors_of(unit_envelope(data=["not", "a", "dict"]))) == ["data"]


def test_body_that_is_not_json_is_refused():
    errors = errors_of(b"{this is not json")
    assert list(errors) == ["_body"]
    assert "not valid JSON" in errors["_body"][0]


def test_body_that_is_a_json_list_is_refused():
    assert errors_of(b"[1, 2, 3]") == {"_body": ["an envelope must be a JSON object"]}


def test_every_missing_envelope_field_is_named():
    errors = errors_of({})
    assert set(errors) == {"event_id", "event_type", "schema_version", "occurred_at",
                           "source", "org_unit_id", "data"}


def test_bad_data_fields_are_named_under_data():
    errors = errors_of(unit_envelope(data={"org_unit_id": "wgz", "name": "", "level": "planet",
                                           "parent_id": None}))
    assert set(errors) == {"data.name", "data.level"}


# -- strict producers, lenient consumers -------------------------------------------

def test_producer_refuses_unknown_data_fields():
    with pytest.raises(ValidationError) as info:
        CATALOG.new_event("org_unit_created", {**UNIT_DATA, "colour": "red"},
                          source="membership", org_unit_id="wgz")
    assert "colour" in info.value.messages


def test_consumer_ignores_unknown_data_fields():
    envelope = unit_envelope()
    envelope["data"] = {**envelope["data"], "colour": "red"}
    event = CATALOG.validate(envelope)
    assert event.data == UNIT_DATA
    assert event.envelope["data"]["colour"] == "red"  # kept as received


def test_producer_never_emits_an_envelope_consumers_refuse():
    naive = datetime(2018, 6, 12, 9, 30)
    try:
        envelope = CATALOG.new_event("org_unit_created", UNIT_DATA, source="membership",
                                     org_unit_id="wgz", occurred_at=naive)
    except (ValidationError, InvalidEvent, ValueError):
        return  # refused at the producer: fine
    CATALOG.validate(envelope)  # otherwise it must be acceptable to consumers


# -- intake -------------------------------------------------------------------------

def test_validate_intake_accepts_register_member_body():
    event = CATALOG.validate_intake(encode(intake_envelope(MEMBER_BODY)))
    assert event.event_type == "member_registered"
    assert event.data["birth_date"] == date(1970, 5, 1)
    assert event.data["admitted_on"] == date(1995, 7, 1)
    assert event.data["id_number"] == "11010519491231002X"
    assert event.data["stage_since"] is None


def test_validate_intake_refuses_unknown_data_fields():
    errors = errors_of(intake_envelope({**MEMBER_BODY, "shoe_size": 42}), CATALOG.validate_intake)
    assert list(errors) == ["data.shoe_size"]


def test_validate_intake_names_bad_command_fields():
    body = {**MEMBER_BODY, "id_number": "110105194912310021", "phone": "12345"}
    errors = errors_of(intake_envelope(body), CATALOG.validate_intake)
    assert errors == {"data.id_number": ["checksum digit is wrong"],
                      "data.phone": ["must be a mainland mobile number: 11 digits starting 13-19"]}


def test_validate_intake_requires_admitted_on_for_a_full_member():
    body = dict(MEMBER_BODY)
    body.pop("admitted_on")
    errors = errors_of(intake_envelope(body), CATALOG.validate_intake)
    assert list(errors) == ["data.admitted_on"]


def test_missing_admitted_on_is_named_beside_other_bad_fields():
    body = {**MEMBER_BODY, "phone": "12345"}
    body.pop("admitted_on")
    errors = errors_of(intake_envelope(body), CATALOG.validate_intake)
    assert set(errors) == {"data.phone", "data.admitted_on"}


def test_validate_intake_refuses_an_event_type_that_is_not_an_intake_command():
    errors = errors_of(intake_envelope(UNIT_DATA, event_type="org_unit_created"),
                       CATALOG.validate_intake)
    assert list(errors) == ["event_type"]
    assert "not an intake command" in errors["event_type"][0]


def test_intake_commands_are_owned_by_membership():
    assert CATALOG.intake_owned_by("membership") == ["household_linked", "member_registered", "member_stage_changed"]
    assert "member_registered" in CATALOG.event_types()
