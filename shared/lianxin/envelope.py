"""The event envelope: the public contract of DESIGN.md.

An envelope travels as JSON. `Event` is the validated form handed to
consumers: the envelope exactly as received plus `data` loaded by the
catalog schema of its type and version.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field as dataclass_field
from functools import cached_property
from datetime import datetime, timezone, timedelta

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .fields import AwareDateTimeString, Id, lone_surrogates, parse_aware_datetime

BUSINESS_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
UUID_PATTERN = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"


class EnvelopeSchema(Schema):
    # Unknown envelope fields are ignored, not refused: a newer producer may
    # add envelope fields without breaking older consumers.
    class Meta:
        unknown = EXCLUDE

    event_id = fields.String(required=True, validate=validate.Regexp(UUID_PATTERN, error="must be a UUID"))
    event_type = fields.String(
        required=True, validate=validate.Regexp(EVENT_TYPE_PATTERN, error="must be snake_case")
    )
    schema_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = AwareDateTimeString(required=True)
    source = fields.String(required=True, validate=validate.Length(min=1, max=100))
    org_unit_id = Id(required=True, allow_none=True)
    correlation_id = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(UUID_PATTERN, error="must be a UUID")
    )
    data = fields.Dict(required=True)


ENVELOPE = EnvelopeSchema()


@dataclass(frozen=True)
class Event:
    envelope: dict  # JSON form, exactly as published
    data: dict      # loaded by the catalog schema (dates as date objects)
    # The JSON text as received, when it is exactly `envelope` (validation
    # dropped or defaulted nothing): kept as it came instead of encoded again.
    wire: str | None = dataclass_field(default=None, compare=False, repr=False)

    @property
    def event_id(self) -> str:
        return self.envelope["event_id"]

    @property
    def event_type(self) -> str:
        return self.envelope["event_type"]

    @property
    def org_unit_id(self) -> str | None:
        return self.envelope.get("org_unit_id")

    @property
    def source(self) -> str:
        return self.envelope["source"]

    @cached_property
    def occurred_at(self) -> datetime:
        # Parsed once: a consumer asks for it several times per event.
        return parse_aware_datetime(self.envelope["occurred_at"])

    @property
    def json_text(self) -> str:
        """The envelope as JSON text (as received, when that is exact)."""
        return self.wire if self.wire is not None else encode(self.envelope).decode("utf-8")


def new_event_id() -> str:
    return str(uuid.uuid4())


def now_business() -> datetime:
    return datetime.now(BUSINESS_TZ)


SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _may_hold_surrogates(body) -> bool:
    """Whether decoded text may hold a lone surrogate: only through a \\uD800-\\uDFFF
    escape in UTF-8 JSON (a pair, e.g. an emoji, also matches; the walk passes it),
    or in JSON sent as UTF-16/32, which json decodes with surrogatepass."""
    if isinstance(body, str):
        return True
    return bool(SURROGATE_ESCAPE.search(body)) or json.detect_encoding(body) != "utf-8"


def decode(body: bytes | str | dict) -> dict:
    """JSON body -> dict, with a reason when it is not a JSON object."""
    if isinstance(body, dict):
        return body
    try:
        value = json.loads(body)
    except (TypeError, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError({"_body": [f"not valid JSON: {exc}"]})
    except RecursionError:
        raise ValidationError({"_body": ["nested too deeply to be an envelope"]})
    if not isinstance(value, dict):
        raise ValidationError({"_body": ["an envelope must be a JSON object"]})
    # A lone surrogate is no character: the store cannot encode it (DESIGN.md:
    # it was a rejection that could not be recorded, redelivered for ever).
    if _may_hold_surrogates(body):
        broken = lone_surrogates(value)
        if broken:
            raise ValidationError(broken)
    return value


def encode(envelope: dict) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
