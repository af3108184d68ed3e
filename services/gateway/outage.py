"""HTTP writes while the broker is down: which can be queued, and how.

The gateway forwards every write by nameko RPC, which goes through RabbitMQ.
While the broker is unreachable, a write whose route is one of the catalog's
intake commands (`CATALOG.intake_command(..., http="POST /api/v1/...")`) is
not refused: it is validated at the edge as always, turned into the intake
envelope another system would publish for it, and stored in the gateway's
own outbox (GatewayStore.queue_write). The gateway's relay publishes it to
lianxin.intake once the broker is back, and the owning service applies it as
it applies any intake event (once, by entity id and event id). The caller gets
202 Accepted with the id the write will have. Every other write gets 503.

This module is the pure part (no nameko): the route -> intake command table,
the envelope, the 202 answer. `BrokerState` is the up/down state a watcher
(services/gateway/broker_watch.py) keeps current.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import quote

import eventlet.event

from lianxin.catalog import CATALOG
from lianxin.commands import new_id
from lianxin.envelope import new_event_id, now_business
from lianxin.errors import TransientError

from .routes import ROUTES

SOURCE = "gateway"
RETRY_AFTER = 5           # seconds: what a 503 during an outage suggests
QUEUED_DETAIL = "the broker is unavailable; the write is stored and will be applied when it returns"

_RULE_PARAM = re.compile(r"<(?:[^>:]*:)?(\w+)>")
_DOC_PARAM = re.compile(r"\{\w+\}")


class BrokerUnavailable(TransientError):
    """503 with Retry-After: the broker is down, so nothing can be forwarded."""
    title = "Broker unavailable"

    def __init__(self, detail: str = "the message broker is unavailable: the services behind the gateway "
                                     "cannot be reached until it returns (only writes that have an intake "
                                     "form are queued meanwhile)", errors: dict | None = None):
        super().__init__(detail, errors)


def _shape(path: str) -> str:
    """A werkzeug rule or a documented path with every parameter as {}."""
    return _DOC_PARAM.sub("{}", _RULE_PARAM.sub("{}", path))


_GET_SHAPES = {_shape(r.path) for r in ROUTES if r.method == "GET"}


@dataclass(frozen=True)
class QueueableRoute:
    """An HTTP write that has an intake form: what to send for it while the broker is down."""
    route: str                    # "POST /api/v1/members/{id}/stage-changes" (as the gateway's endpoint names it)
    rule: str                     # the werkzeug rule it is served at
    command: str                  # the intake command (event type) it becomes
    owner: str
    path_fields: tuple[str, ...]  # path parameters, by name, that go into the data (member_id, case_id...)
    creates: bool                 # the command names the entity by a client `id`

    def with_id(self, body: dict) -> dict:
        """The body with a client id (new unless it has one), for a command that creates:
        the RPC and, should the publish of that RPC fail, the queued write name the same
        entity, so a write that went both ways is applied once."""
        if not self.creates or body.get("id"):
            return body
        return {**body, "id": new_id()}

    def envelope(self, body: dict, path: dict) -> tuple[dict, str]:
        """(the intake envelope for this write, the id of the entity it writes).
        Raises InvalidEvent (a 400) if the catalog refuses it."""
        data = self.with_id(dict(body))
        for name in self.path_fields:
            data[name] = path[name]
        envelope = {
            "event_id": new_event_id(),
            "event_type": self.command,
            "schema_version": 1,
            "occurred_at": now_business().isoformat(),
            "source": SOURCE,
            "org_unit_id": data.get("org_unit_id") if isinstance(data.get("org_unit_id"), str) else None,
            "correlation_id": None,
            "data": data,
        }
        CATALOG.validate_intake(envelope)          # the owner will validate it the same way
        return envelope, (data["id"] if self.creates else path[self.path_fields[-1]])

    def location(self, path: dict, entity_id: str) -> str | None:
        """The entity's GET route, where the API has one."""
        parts = self.rule.strip("/").split("/")
        if self.creates:
            parts = parts + ["<id>"]
            values = {**path, "id": entity_id}
        else:
            last = max(i for i, p in enumerate(parts) if _RULE_PARAM.fullmatch(p))
            parts = parts[:last + 1]
            values = path
        rule = "/" + "/".join(parts)
        if _shape(rule) not in _GET_SHAPES:
            return None
        return _RULE_PARAM.sub(lambda m: quote(str(values[m.group(1)]), safe=""), rule)

    def answer(self, envelope: dict, entity_id: str) -> dict:
        return {"status": "queued", "id": entity_id, "event_id": envelope["event_id"],
                "event_type": envelope["event_type"], "detail": QUEUED_DETAIL}


def _queueable() -> dict[str, QueueableRoute]:
    """Every intake command that names exactly one `POST <path>` served by the gateway.
    ("POST a + POST b" is two requests, e.g. activity_held; "(intake only)" has none.)"""
    rules = {(r.method, _shape(r.path)): r.path for r in ROUTES}
    found = {}
    for name, command in CATALOG.intake.items():
        match = re.fullmatch(r"POST (/\S+)", command.http.strip())
        if match is None:
            continue
        rule = rules.get(("POST", _shape(match[1])))
        if rule is None:
            raise ValueError(f"intake command {name}: no gateway route {command.http!r}")
        fields = command.schema._declared_fields
        params = tuple(_RULE_PARAM.findall(rule))
        missing = [p for p in params if p not in fields]
        if missing:
            raise ValueError(f"intake command {name}: path parameter(s) {missing} of {rule} are not data fields")
        found[f"POST {_shape(match[1])}"] = QueueableRoute(f"POST {match[1]}", rule, name, command.owner, params,
                                                   "id" in fields)
    return found


QUEUEABLE: dict[str, QueueableRoute] = _queueable()      # "POST /api/v1/members/{}/stage-changes" -> ...


def queueable(method: str, route: str) -> QueueableRoute | None:
    """The queueable write served at `route` ("/api/v1/members/{id}/stage-changes"), if it is one."""
    return QUEUEABLE.get(f"{method} {_shape(route)}")


class BrokerState:
    """Up or down, as last seen: by the watcher's check (every second or so),
    or at once when a publish fails for want of a connection. Green-thread safe
    (one OS thread). Waiters registered with `until_down` are woken when it goes down."""

    def __init__(self):
        self.up = True               # until the first check says otherwise
        self.reason: str | None = None
        self.changed_at: float | None = None
        self._waiters: set = set()

    def mark_up(self) -> bool:
        """True if this is a change."""
        changed = not self.up
        self.up, self.reason = True, None
        if changed:
            self._stamp()
        return changed

    def mark_down(self, reason: str) -> bool:
        changed = self.up
        self.up, self.reason = False, reason
        if changed:
            self._stamp()
        waiters, self._waiters = self._waiters, set()
        for event in waiters:
            if not event.ready():
                event.send(("down", reason))
        return changed

    def until_down(self, event: eventlet.event.Event):
        """Send ("down", reason) to `event` if the broker goes down before it is sent
        otherwise; call `forget(event)` once done with it."""
        if not self.up:
            event.send(("down", self.reason))
        else:
            self._waiters.add(event)

    def forget(self, event) -> None:
        self._waiters.discard(event)

    def _stamp(self) -> None:
        self.changed_at = time.monotonic()
