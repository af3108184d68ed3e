"""Compiled loaders for marshmallow schemas: the common case fast, marshmallow for the rest.

Every event is validated where it is consumed (DESIGN.md rule 5), and
marshmallow's general machinery costs ~40 µs per schema per load: the
envelope and its data were half of a consumer's time per event. Nearly every
event on the wire is valid and plainly typed (a str where a string is due,
an int for an integer, "YYYY-MM-DD" for a date), so a loader compiled from
the schema handles exactly those values in a few µs, calling the schema's own
validators and hooks, and hands anything else to `schema.load` itself.

The rule that keeps this safe: the fast path may only ever *accept* what
marshmallow would accept, with the same result. Whenever a value is not of
the plain kind it knows, or any check fails, it gives up and marshmallow
loads the data again from scratch, so every error message (and every
lenient conversion marshmallow allows, such as "5" for an Integer) is
marshmallow's own. tests/unit/test_fastload.py checks the equivalence over
every schema in the catalog, on valid data and on mutations of it. A schema
using a field type or feature not listed here is not compiled at all.
"""
from __future__ import annotations

import math
import re
from datetime import date
from typing import Any, Callable

from marshmallow import EXCLUDE, INCLUDE, RAISE, Schema, fields, missing, validate
from marshmallow.decorators import POST_DUMP, POST_LOAD, PRE_DUMP, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

from .fields import AwareDateTimeString, parse_aware_datetime

Loader = Callable[[Any], Any]
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _Doubt(Exception):
    """The fast path cannot vouch for this input: marshmallow decides."""


def compile_loader(schema: Schema) -> Loader:
    """`schema.load`, faster for plain valid input, identical in every outcome."""
    return _with_fallback(_schema_plan(schema, schema.unknown, schema.many), schema.load)


def _with_fallback(fast: Callable | None, slow: Callable) -> Callable:
    """`fast`, and on any doubt (any exception) marshmallow's own `slow`, which
    then gives the result or words the error; `slow` alone if nothing compiled."""
    if fast is None:
        return slow

    def run(data):
        try:
            return fast(data)
        except Exception:  # noqa: BLE001 - any doubt: marshmallow decides
            return slow(data)

    run.compiled = True  # type: ignore[attr-defined]
    return run


def is_compiled(loader: Loader) -> bool:
    return getattr(loader, "compiled", False)


# -- schemas ---------------------------------------------------------------------

def _schema_plan(schema: Schema, unknown: str, many: bool) -> Loader | None:
    hooks = schema._hooks
    if hooks[PRE_LOAD] or hooks[POST_LOAD] or schema.partial or unknown not in (EXCLUDE, INCLUDE, RAISE):
        return None
    steps = []
    for attr, field in schema.load_fields.items():
        value_of = _field_plan(field)
        out_key = field.attribute or attr
        if value_of is None or "." in out_key:
            return None
        raw_key = field.data_key if field.data_key is not None else attr
        steps.append((raw_key, out_key, field.required, field.load_default, field.allow_none, value_of))
    known = frozenset(raw for raw, *_ in steps)

    field_hooks = []
    for name, _, kwargs in hooks[VALIDATES]:
        field_name = kwargs["field_name"]
        field = schema.fields.get(field_name)
        if field is None:
            if field_name in schema.declared_fields:
                continue           # excluded from this schema: marshmallow skips it too
            return None            # marshmallow raises: let it
        field_hooks.append((getattr(schema, name), field.attribute or field_name))
    # pass_many hooks run first, as marshmallow runs them; single loads pass many=False.
    schema_hooks = [(getattr(schema, name), kwargs.get("pass_original", False))
                    for pass_many in (True, False)
                    for name, hook_many, kwargs in hooks[VALIDATES_SCHEMA] if hook_many == pass_many]

    def load_one(data):
        if type(data) is not dict:
            raise _Doubt
        if unknown == RAISE and not known.issuperset(data):
            raise _Doubt
        out = {}
        for raw_key, out_key, required, default, allow_none, value_of in steps:
            value = data.get(raw_key, missing)
            if value is missing:
                if required:
                    raise _Doubt
                value = default() if callable(default) else default
                if value is not missing:
                    out[out_key] = value
            elif value is None:
                if not allow_none:
                    raise _Doubt
                out[out_key] = None
            else:
                out[out_key] = value_of(value)
        for hook, key in field_hooks:
            if key in out and hook(out[key]) is missing:
                del out[key]
        for hook, pass_original in schema_hooks:
            if pass_original:
                hook(out, data, partial=None, many=False)
            else:
                hook(out, partial=None, many=False)
        if unknown == INCLUDE:
            for key in data.keys() - known:
                out[key] = data[key]
        return out

    return _each(load_one) if many else load_one


# -- fields ----------------------------------------------------------------------

def _field_plan(field: fields.Field) -> Loader | None:
    """value (present, not None) -> loaded value, with the field's validators run."""
    convert = _converter(field)
    if convert is None:
        return None
    validators = tuple(_validator_plan(v) for v in field.validators)
    if not validators:
        return convert

    def load(value):
        value = convert(value)
        for validator in validators:
            if validator(value) is False:   # marshmallow's "validator_failed"
                raise _Doubt
        return value

    return load


def _validator_plan(validator: Callable) -> Callable:
    """A field validator as a check returning False on failure. A Regexp (the
    envelope has three per event) becomes its bare match; any other is called
    as marshmallow calls it (raising on failure: marshmallow then decides)."""
    if type(validator) is validate.Regexp:
        match = validator.regex.match
        return lambda value: match(value) is not None
    return validator


def _converter(field: fields.Field) -> Loader | None:
    kind = type(field)
    if kind is fields.String:
        return _string
    if kind is AwareDateTimeString:
        return _aware_datetime
    if kind is fields.Integer:
        return _integer
    if kind is fields.Float:
        return _float_or_nan if field.allow_nan else _float
    if kind is fields.Boolean:
        if field.truthy is fields.Boolean.truthy and field.falsy is fields.Boolean.falsy:
            return _boolean
        return None
    if kind is fields.Date:
        return _date if field.format in (None, "iso", "iso8601") else None
    if kind is fields.Dict:
        return _dict_of(field.key_field, field.value_field)
    if kind is fields.List:
        return _list_of(field.inner)
    if kind is fields.Nested:
        schema = field.schema
        return _schema_plan(schema, field.unknown or schema.unknown, schema.many)
    return None


def _string(value):
    if type(value) is not str:
        raise _Doubt
    return value


def _aware_datetime(value):
    if type(value) is not str:
        raise _Doubt
    parse_aware_datetime(value)
    return value


def _integer(value):
    if type(value) is not int:     # bool is not int by type(); "5" and 5.0 go to marshmallow
        raise _Doubt
    return value


def _float(value):
    if type(value) is int:
        value = float(value)
    elif type(value) is not float:
        raise _Doubt
    if not math.isfinite(value):
        raise _Doubt
    return value


def _float_or_nan(value):
    if type(value) is int:
        return float(value)
    if type(value) is not float:
        raise _Doubt
    return value


def _boolean(value):
    if value is True or value is False:
        return value
    raise _Doubt


def _date(value):
    if type(value) is not str or not _DATE.fullmatch(value):
        raise _Doubt
    return date(int(value[:4]), int(value[5:7]), int(value[8:]))


def _dict(value):
    if type(value) is not dict:
        raise _Doubt
    return dict(value)


def _dict_of(keys: fields.Field | None, values: fields.Field | None) -> Loader | None:
    if keys is None and values is None:
        return _dict
    key = _element_plan(keys) if keys is not None else _same
    value = _element_plan(values) if values is not None else _same
    if key is None or value is None:
        return None

    def load(mapping):
        if type(mapping) is not dict:
            raise _Doubt
        return {key(k): value(v) for k, v in mapping.items()}

    return load


def _same(value):
    return value


def _list_of(inner: fields.Field) -> Loader | None:
    item = _element_plan(inner)
    return None if item is None else _each(item)


def _each(item: Loader) -> Loader:
    """A JSON array, each element loaded by `item`."""
    def load(value):
        if type(value) is not list:
            raise _Doubt
        return [item(each) for each in value]

    return load


def _element_plan(field: fields.Field) -> Loader | None:
    """A list item, dict key or dict value: always present, maybe None."""
    plan = _field_plan(field)
    if plan is None:
        return None
    allow_none = field.allow_none

    def load(value):
        if value is None:
            if allow_none:
                return None
            raise _Doubt
        return plan(value)

    return load


# -- dumping -----------------------------------------------------------------------
# Producers build every envelope's data as dump(load(data)) (catalog.new_event),
# and marshmallow's dump costs ~25 µs per schema. A loaded value is of the plain
# kind for its field (a str, an int, a date...), so a compiled dumper writes
# those directly and hands any other value to the field's own `_serialize`;
# dumping never fails, so there is nothing to fall back from but a surprise.

def compile_dumper(schema: Schema) -> Callable[[Any], Any]:
    """`schema.dump`, faster for loaded data, identical in result."""
    return _with_fallback(_dump_plan(schema, schema.many), schema.dump)


def _dump_plan(schema: Schema, many: bool) -> Callable | None:
    hooks = schema._hooks
    if hooks[PRE_DUMP] or hooks[POST_DUMP] or schema.opts.ordered:
        return None
    steps = []
    for attr, field in schema.dump_fields.items():
        key = field.attribute or attr
        if "." in key or not field._CHECK_ATTRIBUTE:     # a dotted attribute is a path: marshmallow's
            return None
        serialize = _dump_field(field)
        if serialize is None:
            return None
        # A key that is also a dict attribute ("items") is read by getattr when
        # absent: marshmallow's own (odd) outcome then.
        steps.append((key, field.data_key if field.data_key is not None else attr, field.dump_default, serialize,
                      hasattr(dict, key)))

    def dump_one(obj):
        if type(obj) is not dict:
            raise _Doubt
        out = {}
        for key, out_key, default, serialize, shadowed in steps:
            value = obj.get(key, missing)
            if value is missing:
                if shadowed:
                    raise _Doubt
                value = default() if callable(default) else default
                if value is missing:
                    continue
            out[out_key] = None if value is None else serialize(value)
        return out

    return _each(dump_one) if many else dump_one


def _dump_field(field: fields.Field) -> Callable | None:
    """value (not None) -> dumped value, as field._serialize gives it."""
    def other(value):
        return field._serialize(value, None, None)

    kind = type(field)
    if kind is fields.String or kind is AwareDateTimeString:
        return lambda value: value if type(value) is str else other(value)
    if kind is fields.Integer and not field.as_string:
        return lambda value: value if type(value) is int else other(value)
    if kind is fields.Float and not field.as_string:
        return lambda value: value if type(value) is float else other(value)
    if kind is fields.Boolean:
        return lambda value: value if value is True or value is False else other(value)
    if kind is fields.Date and field.format in (None, "iso", "iso8601"):
        return lambda value: value.isoformat() if type(value) is date else other(value)
    if kind is fields.Dict:
        if field.key_field is None and field.value_field is None:
            return lambda value: dict(value) if type(value) is dict else other(value)
        key = _dump_element(field.key_field) if field.key_field is not None else _same
        item = _dump_element(field.value_field) if field.value_field is not None else _same
        if key is None or item is None:
            return None
        return lambda value: ({key(k): item(v) for k, v in value.items()}
                              if type(value) is dict else other(value))
    if kind is fields.List:
        inner = _dump_element(field.inner)
        if inner is None:
            return None
        return lambda value: [inner(each) for each in value] if type(value) is list else other(value)
    if kind is fields.Nested:
        schema = field.schema
        return _dump_plan(schema, bool(schema.many or field.many))
    return None


def _dump_element(field: fields.Field) -> Callable | None:
    """A list item, dict key or dict value: None stays None, as every field dumps it."""
    plan = _dump_field(field)
    if plan is None:
        return None
    return lambda value: None if value is None else plan(value)

