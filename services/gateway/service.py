"""Gateway service: HTTP in (nameko @http), RPC out. No business rules here.

Every handler validates its input at the edge (so a bad body is a 400
naming every field, with no RPC made), forwards the body to the owning
service, and turns the service's reply into JSON or problem+json.
"""
from __future__ import annotations

import functools
import logging
import time

import eventlet
import kombu
from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from nameko.web.handlers import http
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from lianxin import metrics
from lianxin.commands import load
from lianxin.config import from_nameko_config
from lianxin.errors import LianxinError
from lianxin.nameko import MetricsEndpoint
from lianxin.replies import unwrap

from . import openapi
from .http import internal_error_response, json_response, problem_response, read_json
from .routes import BASE
from services.membership.schemas import CreateOrgUnit, RegisterMember
from services.reporting.schemas import SummaryQuery

log = logging.getLogger("lianxin.gateway")
RPC_TIMEOUT = 10.0
CREATE_ORG_UNIT, REGISTER_MEMBER, SUMMARY_QUERY = CreateOrgUnit(), RegisterMember(), SummaryQuery()
OPENAPI = openapi.build()
BACKENDS = ("membership", "reporting")


def endpoint(route: str):
    """problem+json for every refusal, a bare 500 for bugs, metrics for all."""
    def wrap(fn):
        @functools.wraps(fn)
        def handler(self, request, *args, **kwargs):
            started = time.perf_counter()
            try:
                response = fn(self, request, *args, **kwargs)
            except LianxinError as exc:
                response = problem_response(exc)
            except eventlet.Timeout:
                response = problem_response(LianxinError("a service did not answer in time"))
                response.status_code = 503
            except Exception:  # noqa: BLE001 - logged, never shown to the caller
                log.exception("%s %s failed", request.method, request.path)
                response = internal_error_response()
            metrics.HTTP_REQUESTS.labels(route, request.method, response.status_code).inc()
            metrics.HTTP_SECONDS.labels(route, request.method).observe(time.perf_counter() - started)
            return response
        return handler
    return wrap


def call(proxy_method, *args):
    """An RPC with a deadline, so a service that is down gives 503, not a hang."""
    with eventlet.Timeout(RPC_TIMEOUT):
        return proxy_method(*args)


def forward(proxy_method, *args) -> Response:
    status, body = unwrap(call(proxy_method, *args))
    return json_response(body, status)


class GatewayService:
    name = "gateway"
    membership = RpcProxy("membership")
    reporting = RpcProxy("reporting")
    config = Config()
    metrics_endpoint = MetricsEndpoint()

    @property
    def settings(self):
        return from_nameko_config(self.config)

    # -- operations -------------------------------------------------------------------
    @http("GET", "/healthz")
    def healthz(self, request):
        return json_response({"status": "ok"})

    @http("GET", "/readyz")
    @endpoint("/readyz")
    def readyz(self, request):
        checks = {"broker": _broker_reachable(self.settings.amqp_uri)}
        for name in BACKENDS:
            try:
                with eventlet.Timeout(3):
                    checks[name] = getattr(self, name).health()
            except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - reported, not raised
                checks[name] = {"error": type(exc).__name__}
        ready = checks["broker"] and all(isinstance(checks[n], dict) and checks[n].get("store")
                                         for n in BACKENDS)
        return json_response({"ready": ready, "checks": checks}, 200 if ready else 503)

    @http("GET", "/metrics")
    def metrics(self, request):
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    @http("GET", f"{BASE}/openapi.json")
    def openapi(self, request):
        return json_response(OPENAPI)

    # -- membership -------------------------------------------------------------------
    @http("POST", f"{BASE}/org-units")
    @endpoint(f"{BASE}/org-units")
    def create_org_unit(self, request):
        body = read_json(request, self.settings.max_body_bytes)
        load(CREATE_ORG_UNIT, body)
        return forward(self.membership.create_org_unit, body)

    @http("GET", f"{BASE}/org-units/<unit_id>")
    @endpoint(f"{BASE}/org-units/{{id}}")
    def get_org_unit(self, request, unit_id):
        return forward(self.membership.get_org_unit, unit_id)

    @http("GET", f"{BASE}/org-units/<unit_id>/children")
    @endpoint(f"{BASE}/org-units/{{id}}/children")
    def org_unit_children(self, request, unit_id):
        return forward(self.membership.org_unit_children, unit_id)

    @http("POST", f"{BASE}/members")
    @endpoint(f"{BASE}/members")
    def register_member(self, request):
        body = read_json(request, self.settings.max_body_bytes)
        load(REGISTER_MEMBER, body)
        return forward(self.membership.register_member, body)

    @http("GET", f"{BASE}/members/<member_id>")
    @endpoint(f"{BASE}/members/{{id}}")
    def get_member(self, request, member_id):
        return forward(self.membership.get_member, member_id)

    # -- reporting --------------------------------------------------------------------
    @http("GET", f"{BASE}/reports/summary")
    @endpoint(f"{BASE}/reports/summary")
    def summary(self, request):
        query = request.args.to_dict()
        load(SUMMARY_QUERY, query)
        return forward(self.reporting.summary, query)

    @http("GET", f"{BASE}/rejections")
    @endpoint(f"{BASE}/rejections")
    def rejections(self, request):
        limit = min(max(int(request.args.get("limit", 100) or 100), 1), 1000) \
            if str(request.args.get("limit", "100")).isdigit() else 100
        found = []
        for name in BACKENDS:
            found.extend(call(getattr(self, name).rejections, limit))
        found.sort(key=lambda r: r["rejected_at"], reverse=True)
        return json_response({"rejections": found[:limit], "count": len(found[:limit])})


def _broker_reachable(uri: str) -> bool:
    try:
        with kombu.Connection(uri, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:  # noqa: BLE001 - readiness only reports
        return False
