"""marshmallow fields and validators used by every schema in the catalog."""
from __future__ import annotations

from datetime import datetime

from marshmallow import ValidationError, fields, validate

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"


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
