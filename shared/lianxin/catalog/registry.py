"""The catalog: every event type (per version) and intake command, with schemas.

Producers build envelopes through `Catalog.new_event` (validated strictly:
unknown data fields refused); consumers validate through `Catalog.validate`
(unknown data fields ignored, so a producer may add fields in a version
without breaking consumers). Intake commands are what other systems publish
to `lianxin.intake`; their data has the fields of the matching HTTP body.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError

from ..envelope import ENVELOPE, Event, decode, new_event_id, now_business
from ..errors import InvalidInput
from ..fastload import compile_dumper, compile_loader

LOAD_ENVELOPE = compile_loader(ENVELOPE)


class InvalidEvent(InvalidInput):
    title = "Invalid event"


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    owner: str
    schema: type[Schema]
    description: str


@dataclass(frozen=True)
class IntakeCommand:
    name: str
    owner: str
    schema: type[Schema]
    description: str
    http: str  # the matching HTTP endpoint, for the docs


class Catalog:
    def __init__(self):
        self.events: dict[tuple[str, int], EventType] = {}
        self.intake: dict[str, IntakeCommand] = {}
        self._strict: dict[tuple[str, int], Schema] = {}
        self._lenient: dict[tuple[str, int], Schema] = {}
        self._intake_schemas: dict[str, Schema] = {}
        # schema -> its compiled load and dump (lianxin.fastload), made on first
        # use so that schemas nested by name are all registered by then.
        self._loaders: dict[int, object] = {}
        self._dumpers: dict[int, object] = {}
        self._latest: dict[str, int] = {}

    def _load_with(self, schema: Schema, data):
        loader = self._loaders.get(id(schema))
        if loader is None:
            loader = self._loaders[id(schema)] = compile_loader(schema)
        return loader(data)

    def _dump_with(self, schema: Schema, data):
        dumper = self._dumpers.get(id(schema))
        if dumper is None:
            dumper = self._dumpers[id(schema)] = compile_dumper(schema)
        return dumper(data)

    # -- registration ---------------------------------------------------
    def event(self, name: str, *, owner: str, version: int = 1, description: str):
        def register(schema_cls):
            key = (name, version)
            if key in self.events:
                raise ValueError(f"event {name} v{version} registered twice")
            self.events[key] = EventType(name, version, owner, schema_cls, description.strip())
            self._latest[name] = max(version, self._latest.get(name, 0))
            self._strict[key] = schema_cls(unknown=RAISE)
            self._lenient[key] = schema_cls(unknown=EXCLUDE)
            return schema_cls
        return register

    def intake_command(self, name: str, *, owner: str, http: str, description: str):
        def register(schema_cls):
            if name in self.intake:
                raise ValueError(f"intake command {name} registered twice")
            self.intake[name] = IntakeCommand(name, owner, schema_cls, description.strip(), http)
            self._intake_schemas[name] = schema_cls(unknown=RAISE)
            return schema_cls
        return register

    # -- queries ----------------------------------------------------------
    def latest_version(self, name: str) -> int:
        version = self._latest.get(name)
        if version is None:
            raise KeyError(f"unknown event type {name!r}")
        return version

    def event_types(self) -> list[str]:
        return sorted({n for (n, _) in self.events})

    def intake_owned_by(self, service: str) -> list[str]:
        return sorted(n for n, c in self.intake.items() if c.owner == service)

    # -- producing ----------------------------------------------------------
    def new_event(self, event_type: str, data: dict, *, source: str, org_unit_id: str | None,
                  occurred_at: datetime | None = None, correlation_id: str | None = None,
                  event_id: str | None = None, version: int | None = None) -> dict:
        """A complete, validated envelope in its JSON form."""
        version = version or self.latest_version(event_type)
        schema = self._strict.get((event_type, version))
        if schema is None:
            raise KeyError(f"unknown event type {event_type!r} v{version}")
        # dump(load(x)) both validates and normalises to JSON types.
        loaded = self._load_with(schema, _jsonable(data))
        envelope = {
            "event_id": event_id or new_event_id(),
            "event_type": event_type,
            "schema_version": version,
            "occurred_at": (occurred_at or now_business()).isoformat(),
            "source": source,
            "org_unit_id": org_unit_id,
            "correlation_id": correlation_id,
            "data": self._dump_with(schema, loaded),
        }
        # Never emit what consumers would refuse (a naive time, a bad id).
        LOAD_ENVELOPE(envelope)
        return envelope

    # -- consuming ----------------------------------------------------------
    def validate(self, raw) -> Event:
        """A domain event as received -> Event, or InvalidEvent naming every bad field."""
        envelope, wire = self._envelope(raw)
        key = (envelope["event_type"], envelope["schema_version"])
        schema = self._lenient.get(key)
        if schema is None:
            raise InvalidEvent(
                f"unknown event type {key[0]!r} version {key[1]}",
                {"event_type": [f"not in the catalog: {key[0]} v{key[1]}"]},
            )
        return Event(envelope, self._load(schema, envelope), wire)

    def validate_intake(self, raw) -> Event:
        """An intake envelope -> Event whose data is the loaded command."""
        envelope, wire = self._envelope(raw)
        command = self._intake_schemas.get(envelope["event_type"])
        if command is None:
            raise InvalidEvent(
                f"no service accepts intake of {envelope['event_type']!r}",
                {"event_type": [f"not an intake command: {envelope['event_type']}"]},
            )
        return Event(envelope, self._load(command, envelope), wire)

    def _envelope(self, raw) -> tuple[dict, str | None]:
        """The validated envelope, and the JSON text it came as if that text
        is exactly the envelope (nothing dropped or defaulted by validation)."""
        try:
            decoded = decode(raw)
            envelope = LOAD_ENVELOPE(decoded)
        except ValidationError as exc:
            raise InvalidEvent("the envelope is invalid", _flatten(exc.messages))
        wire = None
        if envelope == decoded:
            if isinstance(raw, str):
                wire = raw
            elif isinstance(raw, (bytes, bytearray)):
                try:
                    wire = raw.decode("utf-8")
                except UnicodeDecodeError:      # JSON in UTF-16/32: encoded afresh when needed
                    pass
        return envelope, wire

    def _load(self, schema: Schema, envelope: dict) -> dict:
        try:
            return self._load_with(schema, envelope["data"])
        except ValidationError as exc:
            raise InvalidEvent(
                f"the data of {envelope['event_type']} is invalid",
                {f"data.{k}": v for k, v in _flatten(exc.messages).items()},
            )


def _flatten(messages, prefix="") -> dict:
    """marshmallow's nested messages -> {"a.b": ["..."]}: every bad field named."""
    out = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(_flatten(value, name))
            else:
                out[name] = value if isinstance(value, list) else [str(value)]
    else:
        out[prefix or "_schema"] = messages if isinstance(messages, list) else [str(messages)]
    return out


flatten_errors = _flatten


def _jsonable(data: dict) -> dict:
    """Dates and datetimes -> ISO strings, so a loaded command can be re-loaded."""
    from datetime import date
    out = {}
    for key, value in data.items():
        if isinstance(value, (date, datetime)):
            out[key] = value.isoformat()
        elif isinstance(value, dict):
            out[key] = _jsonable(value)
        elif isinstance(value, list):
            out[key] = [_jsonable(v) if isinstance(v, dict) else (v.isoformat() if isinstance(v, (date, datetime)) else v) for v in value]
        else:
            out[key] = value
    return out


jsonable = _jsonable
