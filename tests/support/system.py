"""Run Lianxin services in-process (nameko containers) against a test vhost.

They share the embedded store (one in-memory client per process), so a
service stopped and started again finds its data, as it would with MongoDB.
"""
from __future__ import annotations

import socket
import time
import uuid

import requests
from nameko.containers import ServiceContainer

from lianxin.envelope import encode, new_event_id, now_business
from lianxin.publisher import ConfirmPublisher, Outgoing
from lianxin.topology import INTAKE_EXCHANGE
from services.activities.service import ActivitiesService
from services.gateway.service import GatewayService
from services.honours.service import HonoursService
from services.inspections.service import InspectionsService
from services.membership.service import MembershipService
from services.reporting.service import ReportingService

SERVICES = {"membership": MembershipService, "activities": ActivitiesService, "inspections": InspectionsService,
            "honours": HonoursService, "reporting": ReportingService,
            "gateway": GatewayService}


ADMIN_TOKEN = "lianxin-test-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eventually(check, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    """Poll `check` until it returns a truthy value; fail with the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{message} not reached within {timeout}s (last: {last!r})")


class System:
    def __init__(self, amqp_uri: str):
        self.port = free_port()
        self.config = {
            "AMQP_URI": amqp_uri,
            "DB_PREFIX": f"t{uuid.uuid4().hex[:10]}",
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
            "serializer": "json",
            "max_workers": 10,
            "METRICS_PORT": 0,
            # The bootstrap admin key (API.md): what system.http sends unless told otherwise.
            "LIANXIN_ADMIN_TOKEN": ADMIN_TOKEN,
        }
        self.containers: dict[str, ServiceContainer] = {}
        # Further instances of a service (scale-out): same config, so the same
        # store (DB_PREFIX) and the same queues (vhost); see start_instance.
        self.extra: dict[str, list[ServiceContainer]] = {}
        self._publisher: ConfirmPublisher | None = None

    # -- lifecycle --------------------------------------------------------------
    def start(self, *names: str) -> "System":
        """Start these services (default: all of them, as deployed)."""
        for name in names or tuple(SERVICES):
            container = ServiceContainer(SERVICES[name], self.config)
            container.start()
            self.containers[name] = container
        self.wait_consuming()
        return self

    def start_instance(self, name: str) -> ServiceContainer:
        """Start one more instance of a running service (scale-out): it shares
        the service's store and queues with the others. Stopped by stop(name)
        and stop_all with them."""
        if name not in self.containers:
            raise KeyError(f"start {name!r} first")
        container = ServiceContainer(SERVICES[name], self.config)
        container.start()
        self.extra.setdefault(name, []).append(container)
        self.wait_consuming()
        return container

    def instances(self, name: str) -> list[ServiceContainer]:
        """Every running instance of a service, the first one started first."""
        return [self.containers[name], *self.extra.get(name, [])] if name in self.containers else []

    def stop(self, name: str) -> None:
        for container in self.extra.pop(name, []):
            container.stop()
        self.containers.pop(name).stop()

    def stop_all(self) -> None:
        for name in list(self.containers):
            self.stop(name)
        if self._publisher is not None:
            self._publisher.close()

    def wait_consuming(self) -> None:
        consumers = [ext.consumer for name in self.containers for c in self.instances(name) for ext in c.entrypoints
                     if hasattr(ext, "consumer")]
        eventually(lambda: all(c.ready for c in consumers), message="consumers ready")

    def store(self, name: str):
        """The domain-language store object a service's workers get (its first instance's)."""
        return store_of(self.containers[name])

    def stores(self, name: str) -> list:
        """Each instance's store object (scale-out: one per instance)."""
        return [store_of(c) for c in self.instances(name)]

    # -- talking to it --------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def http(self, method: str, path: str, token: str | None = ADMIN_TOKEN, **kwargs) -> requests.Response:
        """A request as the bootstrap admin, or as the holder of `token` (None: no Authorization)."""
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        return requests.request(method, f"{self.url}{path}", timeout=15, headers=headers, **kwargs)

    def post(self, path: str, body) -> requests.Response:
        return self.http("POST", f"/api/v1{path}", json=body)

    def get(self, path: str, **params) -> requests.Response:
        return self.http("GET", f"/api/v1{path}", params=params)

    def summary(self, org_unit_id: str, start: str = "1900-01-01", end: str = "2100-01-01") -> dict:
        response = self.get("/reports/summary", org_unit_id=org_unit_id, **{"from": start, "to": end})
        return response.json() if response.status_code == 200 else {}

    def publish_intake(self, envelopes: list, routing_key: str | None = None) -> None:
        """Publish envelopes to lianxin.intake: dicts, or raw bytes with a routing key."""
        if self._publisher is None:
            self._publisher = ConfirmPublisher(self.config["AMQP_URI"])
        messages = []
        for env in envelopes:
            body = env if isinstance(env, bytes) else encode(env)
            key = routing_key or env["event_type"]
            messages.append(Outgoing(INTAKE_EXCHANGE, key, body, new_event_id()))
        result = self._publisher.publish(messages)
        assert not result.failed, result.failed


def store_of(container: ServiceContainer):
    provider = next(d for d in container.dependencies if d.attr_name == "store")
    return provider._store


def intake_envelope(event_type: str, data: dict, event_id: str | None = None, org_unit_id: str | None = None) -> dict:
    return {
        "event_id": event_id or new_event_id(), "event_type": event_type, "schema_version": 1,
        "occurred_at": now_business().isoformat(), "source": "grid-app",
        "org_unit_id": org_unit_id or data.get("org_unit_id"), "correlation_id": None, "data": data,
    }
