"""What every service does the same way around its domain functions:
idempotent creation by client id, domain events to envelopes, and the
mapping of a command's outcome onto an intake event's outcome."""
from __future__ import annotations

import time
import uuid
from typing import Callable, Iterable

from marshmallow import Schema, ValidationError

from .catalog import CATALOG, flatten_errors
from .consumer import Result
from .errors import Conflict, InvalidInput, LianxinError, NotFound, StaleWrite
from .fields import lone_surrogates
from .replies import created, existing
from .store import is_duplicate_key


def new_id() -> str:
    return uuid.uuid4().hex


def load(schema: Schema, payload) -> dict:
    """Validate a command at a boundary; every bad field named in the error."""
    if not isinstance(payload, dict):
        raise InvalidInput("the body must be a JSON object", {"_body": ["must be a JSON object"]})
    broken = lone_surrogates(payload)
    if broken:
        raise InvalidInput(f"invalid fields: {', '.join(sorted(broken))}", broken)
    try:
        return schema.load(payload)
    except ValidationError as exc:
        errors = flatten_errors(exc.messages)
        raise InvalidInput(f"invalid fields: {', '.join(sorted(errors))}", errors)


def envelopes(events: Iterable, *, source: str, correlation_id: str | None = None) -> list[dict]:
    """Domain events (type, data, org_unit_id) -> validated envelopes."""
    return [CATALOG.new_event(e.type, e.data, source=source, org_unit_id=e.org_unit_id,
                              correlation_id=correlation_id) for e in events]


def create_once(*, load: Callable[[], dict | None], fingerprint: str,
                create: Callable[[], object], view: Callable[[dict], object]) -> dict:
    """Create unless the id exists: same body -> 200 with it, other body -> 409.

    The stored `request_hash` is the fingerprint of the body that created the
    resource. A concurrent create of the same id loses at the unique `_id`
    and is answered like a repeat.
    """
    doc = load()
    if doc is None:
        try:
            return created(create())
        except Exception as exc:  # noqa: BLE001 - only the duplicate-key race is handled
            if not is_duplicate_key(exc):
                raise
            doc = load()
    check_repeat(doc, fingerprint)
    return existing(view(doc))


def check_repeat(doc: dict, fingerprint: str) -> None:
    """A create of an id that exists: the same body is a repeat, another a Conflict."""
    if doc.get("request_hash") != fingerprint:
        raise Conflict(f"id {doc['_id']!r} already exists with a different body",
                       {"id": [f"{doc['_id']!r} is taken by a different resource"]})


def repeat_result(doc: dict, fingerprint: str) -> Result:
    """check_repeat as an intake outcome: duplicate, or rejected as a Conflict."""
    try:
        check_repeat(doc, fingerprint)
    except Conflict as exc:
        return Result.reject(exc.detail, exc.errors)
    return Result.duplicate()


def outcomes(events, fresh_ids: set) -> list[Result]:
    """ok for the first delivery of each newly stored event, duplicate for the rest."""
    seen: set = set()
    results = []
    for event in events:
        new = event.event_id in fresh_ids and event.event_id not in seen
        seen.add(event.event_id)
        results.append(Result.ok() if new else Result.duplicate())
    return results


def retrying(action: Callable[[], object], attempts: int = 3):
    """Run a read-modify-write again when another writer got there first."""
    for attempt in range(attempts):
        try:
            return action()
        except StaleWrite:
            if attempt + 1 == attempts:
                raise


def intake_result(action: Callable[[], dict]) -> Result:
    """Run an intake command: created -> ok, repeat -> duplicate, an unknown
    reference -> retry (it may be registered a moment later, DESIGN.md rule
    7), any other refusal -> rejected with its reason."""
    try:
        answer = action()
    except NotFound as exc:
        return Result.retry(exc.detail)
    except StaleWrite as exc:
        return Result.retry(exc.detail)
    except LianxinError as exc:
        return Result.reject(exc.detail, exc.errors)
    return Result.ok() if answer["status"] == 201 else Result.duplicate()


# -- references that may not have arrived yet (DESIGN.md rule 7) ----------------
# A service's view of another's facts lags by the time an event takes to
# travel (milliseconds). HTTP commands wait a little for a reference to
# arrive; intake events do not wait: they go through the retry tiers.

Settle = Callable[[Callable[[], bool]], None]


def no_wait(ready: Callable[[], bool]) -> None:
    """Intake: do not wait; an unknown reference is retried through the tiers."""


def wait_briefly(ready: Callable[[], bool], timeout: float = 3.0, interval: float = 0.05) -> None:
    """HTTP: give membership's events a moment to arrive (they take milliseconds)."""
    deadline = time.monotonic() + timeout
    while not ready() and time.monotonic() < deadline:
        time.sleep(interval)
