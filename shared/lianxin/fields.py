"""marshmallow fields and validators used by every schema in the catalog."""
from __future__ import annotations

from datetime import datetime

from marshmallow import ValidationError, fields, validate

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"
LONE_SURROGATE = "not valid Unicode text (a lone UTF-16 surrogate, \\ud800-\\udfff)"


def lone_surrogates(value, path: str = "") -> dict[str, list[str]]:
    """{field path: [message]} for every string (key or value) holding a lone
    surrogate. JSON may escape one ("\\ud800") and Python decodes it, but it is
    no character: UTF-8 (so BSON, so the store) cannot encode it, and a write
    holding one failed deep in the store (HTTP 500; an intake rejection that
    could not be recorded, redelivered for ever)."""
    found: dict[str, list[str]] = {}
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _has_surrogate(item):
                found[where or "_body"] = [LONE_SURROGATE]
        elif isinstance(item, dict):
            for key, sub in item.items():
                name = f"{where}.{storable_text(str(key))}" if where else storable_text(str(key))
                if isinstance(key, str) and not key.isascii() and _has_surrogate(key):
                    found[name] = [LONE_SURROGATE]
                stack.append((name, sub))
        elif isinstance(item, (list, tuple)):
            stack.extend((f"{where}.{i}" if where else str(i), sub) for i, sub in enumerate(item))
    return found


def storable_text(text: str) -> str:
    """The text with any lone surrogate written as its escape (\\ud800): storable."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8") if not text.isascii() else text


def storable(value):
    """A JSON-like value with every string storable (for records of what was refused)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    return value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def Id(**kwargs) -> fields.String:
    """An id: 1-128 characters, letters, digits and . _ : - (no spaces)."""
    return fields.String(
        validate=validate.Regexp(ID_PATTERN, error="must be 1-128 letters, digits or . _ : -"),
        **kwargs,
    )


def Text(max_length: int = 200, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def OneOf(choices, **kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(choices), **kwargs)


def parse_aware_datetime(value: str) -> datetime:
    """ISO-8601 with an explicit offset; naive times are ambiguous across systems."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError("must be an ISO-8601 time with offset, e.g. 2018-06-12T09:30:00+08:00")
    if parsed.tzinfo is None:
        raise ValidationError("must carry a UTC offset, e.g. +08:00")
    return parsed


class AwareDateTimeString(fields.String):
    """Keeps the ISO string as sent, after checking it is an aware datetime."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        parse_aware_datetime(text)
        return text
