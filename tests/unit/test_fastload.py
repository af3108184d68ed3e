"""Compiled loaders (lianxin.fastload) give exactly marshmallow's outcome for
every schema in the catalog: the same loaded data, or the same errors."""
import copy
import itertools
from datetime import date, datetime

import pytest
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

from lianxin.catalog import CATALOG
from lianxin.envelope import ENVELOPE
from lianxin.fastload import compile_dumper, compile_loader, is_compiled
from lianxin.fields import AwareDateTimeString
from tests.unit.test_catalog import MEMBER_BODY
from tests.unit.test_reporting_rebuild import history

# Values that probe every converter: plain and odd types, edge strings, dates
# marshmallow reads leniently ("2018-6-1") or not at all ("2018-02-30").
PROBES = [None, "", "a", "x" * 300, "中文", " a b ", 0, 1, -1, 2 ** 70, True, False, 1.5, float("nan"),
          float("inf"), "5", "1.5", "true", [], ["a"], [None], [{}], {}, {"a": 1}, "2018-06-01", "2018-6-1",
          "2018-02-30", "2018-06-01\n", "20180601", "2018-06-01T09:30:00+08:00", "2018-06-01T09:30:00",
          "0b7c4f0e-3a3e-4b8e-9a51-7f0d2f6c1a11", "snake_case", b"bytes"]


def schemas():
    out = [("envelope", ENVELOPE)]
    out += [(f"event {k[0]} v{k[1]} (strict)", s) for k, s in CATALOG._strict.items()]
    out += [(f"event {k[0]} v{k[1]} (lenient)", s) for k, s in CATALOG._lenient.items()]
    out += [(f"intake {k}", s) for k, s in CATALOG._intake_schemas.items()]
    return out


def outcome(load, data):
    try:
        return "ok", load(copy.deepcopy(data))
    except ValidationError as exc:
        return "invalid", exc.messages


def plain_value(field):
    """A plausible value for a field (not necessarily valid: the outcome is compared)."""
    for v in field.validators:
        if isinstance(v, validate.OneOf):
            return next(iter(v.choices))
    kind = type(field)
    if kind is fields.Integer:
        return 3
    if kind is fields.Float:
        return 2.5
    if kind is fields.Boolean:
        return True
    if kind is fields.Date:
        return "2018-06-01"
    if kind is AwareDateTimeString:
        return "2018-06-01T09:30:00+08:00"
    if kind is fields.Dict:
        return {"k": 1}
    if kind is fields.List:
        return [plain_value(field.inner)]
    if kind is fields.Nested:
        return plain_data(field.schema)
    return "wgz-c1"


def plain_data(schema):
    return {(f.data_key or name): plain_value(f) for name, f in schema.load_fields.items()}


def samples(schema):
    """Real data from a realistic history where there is some, and plain data."""
    found = [plain_data(schema)]
    for event in history():
        if CATALOG._lenient.get((event.event_type, event.envelope["schema_version"])) is schema or \
                CATALOG._strict.get((event.event_type, event.envelope["schema_version"])) is schema:
            found.append(event.envelope["data"])
        if schema is ENVELOPE:
            found.append(event.envelope)
        if len(found) > 3:
            break
    return found


def mutations(data):
    yield data
    yield {**data, "not_a_field": 1}
    for key in data:
        yield {k: v for k, v in data.items() if k != key}
        for probe in PROBES:
            yield {**data, key: probe}
        if isinstance(data[key], list) and data[key] and isinstance(data[key][0], dict):
            for inner in itertools.islice(mutations(data[key][0]), 40):
                yield {**data, key: [inner]}
    yield []
    yield "not an object"


@pytest.mark.parametrize("name,schema", schemas(), ids=[n for n, _ in schemas()])
def test_every_catalog_schema_is_compiled_and_loads_as_marshmallow_does(name, schema):
    fast = compile_loader(schema)
    assert is_compiled(fast), f"{name} fell back to marshmallow entirely (a field type fastload lacks?)"
    checked = 0
    for sample in samples(schema):
        for data in mutations(sample):
            assert outcome(fast, data) == outcome(schema.load, data), (name, data)
            checked += 1
    assert checked > 20


def test_real_events_are_loaded_on_the_fast_path_with_marshmallows_result():
    events = history()
    assert len({e.event_type for e in events}) > 15
    for event in events:
        schema = CATALOG._lenient[(event.event_type, event.envelope["schema_version"])]
        data = event.envelope["data"]
        fast = compile_loader(schema)
        # The fast path itself (no fallback) must accept real, valid data.
        assert fast.__closure__ is not None
        assert fast(data) == schema.load(data)
        assert CATALOG.validate(event.envelope).data == schema.load(data)


class Room(Schema):
    class Meta:
        unknown = RAISE

    number = fields.Integer(required=True, validate=validate.Range(min=1))


class Booking(Schema):
    guest = fields.String(required=True, validate=validate.Length(max=5))
    nights = fields.Integer(load_default=1)
    on = fields.Date(required=True)
    paid = fields.Boolean(load_default=False)
    rooms = fields.List(fields.Nested(Room), load_default=list)
    note = fields.String(load_default=None, allow_none=True)

    @validates("guest")
    def _no_x(self, value, **_):
        if value == "x":
            raise ValidationError("not x")

    @validates_schema
    def _long_stay(self, data, **_):
        if data.get("nights", 0) > 30:
            raise ValidationError("too long", "nights")


def test_lenient_values_marshmallow_accepts_are_still_accepted_via_the_fallback():
    schema = Booking(unknown=EXCLUDE)
    fast = compile_loader(schema)
    # "5" for an Integer, "2018-6-1" for a Date: not the plain kind, so marshmallow loads them.
    assert fast({"guest": "ann", "nights": "5", "on": "2018-6-1"}) == {
        "guest": "ann", "nights": 5, "on": date(2018, 6, 1), "paid": False, "rooms": [], "note": None}


def test_hooks_and_nested_unknown_fields_are_enforced():
    schema = Booking(unknown=EXCLUDE)
    fast = compile_loader(schema)
    for bad in ({"guest": "x", "on": "2018-06-01"},                       # field hook
                {"guest": "ann", "on": "2018-06-01", "nights": 31},       # schema hook
                {"guest": "ann", "on": "2018-06-01", "rooms": [{"number": 1, "extra": 1}]},  # nested RAISE
                {"guest": "ann", "on": "2018-06-01", "rooms": [{"number": 0}]},              # nested validator
                {"guest": "annabel", "on": "2018-06-01"}):                # Length
        assert outcome(fast, bad) == outcome(schema.load, bad)
        assert outcome(fast, bad)[0] == "invalid"
    ok = {"guest": "ann", "on": "2018-06-01", "rooms": [{"number": 2}], "ignored": 1}
    assert fast(ok) == schema.load(ok) == {"guest": "ann", "nights": 1, "on": date(2018, 6, 1), "paid": False,
                                           "rooms": [{"number": 2}], "note": None}


def test_a_schema_with_an_unknown_field_type_is_left_to_marshmallow():
    class Odd(Schema):
        when = fields.DateTime()

    schema = Odd()
    assert compile_loader(schema) == schema.load


# -- dumping -----------------------------------------------------------------------
# Valid data for schemas whose plain sample does not load (cross-field rules).
VALID = {"intake member_registered": [MEMBER_BODY]}


@pytest.mark.parametrize("name,schema", schemas(), ids=[n for n, _ in schemas()])
def test_every_catalog_schema_dumps_what_it_loaded_as_marshmallow_does(name, schema):
    fast = compile_dumper(schema)
    assert is_compiled(fast), f"{name} fell back to marshmallow entirely (a field type fastload lacks?)"
    checked = 0
    for sample in samples(schema) + VALID.get(name, []):
        for data in mutations(sample):
            kind, loaded = outcome(schema.load, data)
            if kind == "ok":
                assert fast(copy.deepcopy(loaded)) == schema.dump(loaded), (name, loaded)
                checked += 1
    assert checked > 0


def test_real_events_dump_back_to_their_data():
    for event in history():
        schema = CATALOG._strict[(event.event_type, event.envelope["schema_version"])]
        assert compile_dumper(schema)(event.data) == schema.dump(event.data)


def test_odd_values_are_dumped_by_the_fields_own_serializer():
    schema = Booking()
    fast = compile_dumper(schema)
    odd = {"guest": b"ann", "nights": 2.7, "on": datetime(2018, 6, 1, 9, 30), "paid": 1, "rooms": ({"number": "3"},),
           "note": None}
    assert fast(odd) == schema.dump(odd) == {"guest": "ann", "nights": 2, "on": "2018-06-01", "paid": True,
                                             "rooms": [{"number": 3}], "note": None}
    assert fast({}) == schema.dump({}) == {}                          # absent values are left out
    assert fast([1]) == schema.dump([1])                               # not a dict: marshmallow's own outcome


def test_a_schema_with_dump_hooks_is_left_to_marshmallow():
    from marshmallow import post_dump

    class Hooked(Schema):
        a = fields.String()

        @post_dump
        def _upper(self, data, **_):
            return {k: v.upper() for k, v in data.items()}

    schema = Hooked()
    assert compile_dumper(schema) == schema.dump

