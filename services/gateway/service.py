"""Gateway service: HTTP in (nameko @http), RPC out. No business rules here.

Every handler validates its input at the edge (so a bad body is a 400
naming every field, with no RPC made), forwards the body to the owning
service, and turns the service's reply into JSON or problem+json.

While the broker is down (BrokerWatch, and any RPC publish that fails for
want of a connection) nothing waits for nameko's publish retries: a write
that has an intake form is queued in the gateway's outbox and answered 202
(services/gateway/outage.py), every other request that needs a service gets
503 with Retry-After, and /readyz says so at once.
"""
from __future__ import annotations

import functools
import logging
import time
from datetime import datetime, timedelta, timezone

import amqp
import eventlet
import eventlet.event
import kombu.exceptions
from nameko.exceptions import UnknownService
from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from lianxin import metrics
from lianxin.commands import load
from lianxin.config import from_nameko_config
from lianxin.access import Forbidden
from lianxin.errors import LianxinError, NotFound, TransientError
from lianxin.nameko import MetricsEndpoint, StoreProvider, http
from lianxin.replies import unwrap

from . import guard, openapi, outage, security
from .broker_watch import BrokerWatch
from .http import internal_error_response, json_response, problem_response, read_json
from .outage import RETRY_AFTER, BrokerUnavailable
from .routes import BASE
from .schemas import AuditQuery, IssueKey
from .store import GatewayStore
from services.activities.schemas import COMMANDS as ACTIVITIES, QUERIES as ACTIVITY_QUERIES
from services.honours.schemas import COMMANDS as HONOURS, QUERIES as HONOUR_QUERIES
from services.inspections.schemas import COMMANDS as INSPECTIONS
from services.membership.schemas import COMMANDS as MEMBERSHIP
from services.reporting import exports, narrative
from services.reporting.reports import REPORTS
from services.reporting.schemas import AsOfQuery, EventsQuery, PublishSnapshot, ReportQuery, SnapshotsQuery

log = logging.getLogger("lianxin.gateway")


class ServiceUnavailable(TransientError):
    title = "Service unavailable"


# request.environ keys: what the guard read and narrowed, for the handler.
BODY, QUERY, UNMASKED, PRINCIPAL = "lianxin.body", "lianxin.query", "lianxin.unmasked", "lianxin.principal"
ROUTE, PATH = "lianxin.route", "lianxin.path"      # "POST /api/v1/members/{id}/stage-changes"; path parameters
RPC_TIMEOUT = 10.0
HEALTH_TIMEOUT = 3.0
# A publish that failed for want of a connection: the request was not sent.
CONNECTION_ERRORS = (OSError, kombu.exceptions.OperationalError, amqp.exceptions.ConnectionError)
SUMMARY_QUERY = AsOfQuery()
REPORT_QUERY = ReportQuery()
SNAPSHOTS_QUERY = SnapshotsQuery()
EVENTS_QUERY = EventsQuery()
REPORT_RULE = f"<any({','.join(sorted(REPORTS))}):report>"
OPENAPI = openapi.build()
BACKENDS = ("membership", "activities", "inspections", "honours", "reporting")
COMMANDS = {"membership": MEMBERSHIP, "activities": ACTIVITIES, "inspections": INSPECTIONS, "honours": HONOURS,
            "reporting": {"publish_snapshot": PublishSnapshot()}}


def endpoint(route: str):
    """Authentication, role and scope, problem+json for every refusal, a bare
    500 for bugs, the audit log, and metrics for all.

    The rule of the handler (guard.RULES, by its name) says who may call it and
    where its org units are; a handler without a rule fails at import.
    """
    def wrap(fn):
        rule = guard.Rule(None) if fn.__name__ in guard.UNGUARDED else guard.RULES[fn.__name__]

        @functools.wraps(fn)
        def handler(self, request, *args, **kwargs):
            started = time.perf_counter()
            principal = None
            request.environ[ROUTE], request.environ[PATH] = f"{request.method} {route}", kwargs
            try:
                if rule.family is None:
                    response = fn(self, request, *args, **kwargs)
                else:
                    principal = self._authorize(request, rule, kwargs)
                    response = fn(self, request, *args, **kwargs)
                    if request.method != "GET" or request.environ.get(UNMASKED):
                        self._audit_after(principal, request, route, response, kwargs)
            except LianxinError as exc:
                response = problem_response(exc)
                if isinstance(exc, BrokerUnavailable):
                    response.headers["Retry-After"] = str(RETRY_AFTER)
                principal = request.environ.get(PRINCIPAL)      # known even if refused later
                if exc.status in (401, 403):
                    metrics.ACCESS_REFUSED.labels(exc.status).inc()
                    if exc.status == 403 and principal is not None:
                        self._audit(principal, "denied", request, route, 403, kwargs)
                elif principal is not None and request.method != "GET":
                    self._audit(principal, "write", request, route, exc.status, kwargs)
            except eventlet.Timeout:
                response = problem_response(ServiceUnavailable("a service did not answer in time"))
            except (UnknownService, amqp.exceptions.ChannelError) as exc:
                # No queue takes the RPC: the service is not running.
                log.error("%s %s: %s", request.method, request.path, exc)
                response = problem_response(ServiceUnavailable("the service that owns this is not running"))
            except Exception:  # noqa: BLE001 - logged, never shown to the caller
                log.exception("%s %s failed", request.method, request.path)
                response = internal_error_response()
            metrics.HTTP_REQUESTS.labels(route, request.method, response.status_code).inc()
            metrics.HTTP_SECONDS.labels(route, request.method).observe(time.perf_counter() - started)
            return response
        return handler
    return wrap


class GatewayService:
    name = "gateway"
    membership = RpcProxy("membership")
    activities = RpcProxy("activities")
    inspections = RpcProxy("inspections")
    honours = RpcProxy("honours")
    reporting = RpcProxy("reporting")
    config = Config()
    metrics_endpoint = MetricsEndpoint()
    store = StoreProvider(GatewayStore)      # API keys, the audit log, writes queued in an outage
    broker = BrokerWatch()                   # up or down, kept current (outage.BrokerState)

    @property
    def settings(self):
        return from_nameko_config(self.config)

    # -- access ---------------------------------------------------------------------------
    def _authorize(self, request, rule: guard.Rule, path: dict):
        """The caller, checked for role and scope; the body and query as read for it."""
        principal = security.authenticate(request.headers.get("Authorization"), self.store,
                                          self.settings.admin_token)
        request.environ[PRINCIPAL] = principal
        write = request.method != "GET"
        guard.require_role(principal, rule, write)      # before the body is even read
        body = None
        if write and request.method == "POST":
            body = request.environ[BODY] = read_json(request, self.settings.max_body_bytes)
        query = request.environ[QUERY] = request.args.to_dict()
        guard.check_scope(principal, rule, path, body, query, self._ask)
        request.environ[UNMASKED] = guard.unmasked_for(principal, rule)
        return principal

    def _ask(self, service: str, method: str, *args):
        """A fact for the guard. While the broker is down a fact from a service
        cannot be had: _call raises BrokerUnavailable, so the request is refused
        with 503, never let through unchecked. Only what needs no fact still
        passes: a key whose scope is the whole tree (check_scope asks nothing),
        a request that names no unit, API keys (the gateway's own store)."""
        if service == "gateway":
            found = self.store.get_key(*args)
            if found is None:
                raise NotFound(f"API key {args[0]!r} does not exist")
            return security.key_view(found)
        return unwrap(self._call(getattr(getattr(self, service), method), *args))[1]

    # -- RPC, aware of the broker ---------------------------------------------------------
    def _call(self, proxy_method, *args, timeout: float = RPC_TIMEOUT):
        """An RPC with a deadline, so a service that is down gives 503, not a hang;
        refused at once (BrokerUnavailable) while the broker is down."""
        with eventlet.Timeout(timeout):
            reply = self._send(proxy_method, *args)
            return reply.result()

    def _send(self, proxy_method, *args):
        """Publish an RPC request; BrokerUnavailable if it was not sent because the
        broker is down: it is down already, the publish fails for want of a
        connection, or the watcher sees it go down while nameko retries the publish
        (the publish is then left to finish or fail by itself: a create carries its
        id, so a request that still goes out and a queued write are applied once)."""
        if not self.broker.up:
            raise BrokerUnavailable()
        done = eventlet.event.Event()

        def publish():
            try:
                reply = proxy_method.call_async(*args)
                if not done.ready():
                    done.send(("sent", reply))
            except CONNECTION_ERRORS as exc:
                if self.broker.mark_down(f"{type(exc).__name__}: {exc}"):
                    log.warning("RPC %s not sent: %s; the broker is taken as down until it answers again",
                                proxy_method, self.broker.reason)
                if not done.ready():
                    done.send(("down", str(exc)))
            except Exception as exc:  # noqa: BLE001 - raised in the caller's thread
                if not done.ready():
                    done.send(("error", exc))
                else:
                    log.warning("RPC %s failed after the broker went down: %s", proxy_method, exc)

        self.broker.until_down(done)
        try:
            eventlet.spawn_n(publish)
            outcome, value = done.wait()
        finally:
            self.broker.forget(done)
        if outcome == "sent":
            return value
        if outcome == "down":
            raise BrokerUnavailable()
        raise value

    def _forward(self, proxy_method, *args) -> Response:
        status, body = unwrap(self._call(proxy_method, *args))
        if status == 204:
            return Response(status=204)
        return json_response(body, status)

    def _audit(self, principal, action: str, request, route: str, status: int, path: dict,
               result_id: str | None = None) -> None:
        entry = security.audit_entry(principal, action, request, route, status, path,
                                     request.environ.get(BODY), result_id)
        try:
            self.store.append_audit(entry)
            metrics.AUDIT_WRITES.labels(action).inc()
        except Exception:  # noqa: BLE001 - a write that happened stays done; say so loudly
            metrics.AUDIT_FAILURES.inc()
            log.exception("audit entry not written: %s %s by %s", request.method, request.path, principal.key_id)
            if action == "unmasked_read":
                raise ServiceUnavailable("personal data is shown only when the read can be audited; "
                                         "the audit log is unavailable")

    def _audit_after(self, principal, request, route: str, response, path: dict) -> None:
        if request.method == "GET":
            if response.status_code == 200:
                self._audit(principal, "unmasked_read", request, route, 200, path)
            return
        result_id = None
        if response.status_code in (200, 201, 202) and response.mimetype == "application/json":
            import json
            try:
                found = json.loads(response.get_data())
                result_id = found.get("id") if isinstance(found, dict) else None
            except ValueError:
                pass
        self._audit(principal, "write", request, route, response.status_code, path, result_id)

    @staticmethod
    def _args(request) -> dict:
        """The query as the guard narrowed it (a unit filled in for a scoped key)."""
        found = request.environ.get(QUERY)
        return dict(found) if found is not None else request.args.to_dict()

    # -- operations -------------------------------------------------------------------
    @http("GET", "/healthz")
    def healthz(self, request):
        return json_response({"status": "ok"})

    @http("GET", "/readyz")
    @endpoint("/readyz")
    def readyz(self, request):
        # The broker as the watcher last saw it (at most ~1 s old): while it is
        # down the services cannot be asked, so they are not (no RPC waits).
        checks = {"broker": self.broker.up, "gateway": {"store": self.store.ping()}}
        for name in BACKENDS:
            if not self.broker.up:
                checks[name] = {"error": "unreachable: broker down"}
                continue
            try:
                checks[name] = self._call(getattr(self, name).health, timeout=HEALTH_TIMEOUT)
            except BrokerUnavailable:
                checks[name] = {"error": "unreachable: broker down"}
            except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - reported, not raised
                checks[name] = {"error": type(exc).__name__}
        ready = checks["broker"] and checks["gateway"]["store"] and all(isinstance(checks[n], dict) and checks[n].get("store")
                                         for n in BACKENDS)
        return json_response({"ready": ready, "checks": checks}, 200 if ready else 503)

    @http("GET", "/metrics")
    @endpoint("/metrics")
    def metrics(self, request):
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    @http("GET", f"{BASE}/openapi.json")
    @endpoint(f"{BASE}/openapi.json")
    def openapi(self, request):
        return json_response(OPENAPI)

    # -- API keys and the audit log (admins) ---------------------------------------------
    @http("POST", f"{BASE}/api-keys")
    @endpoint(f"{BASE}/api-keys")
    def issue_key(self, request):
        body = load(IssueKey(), request.environ[BODY])
        expires = body["expires_on"]
        doc, token = self.store.issue_key(
            body["name"], body["role"], body["scope_unit_id"], request.environ[PRINCIPAL].as_record(),
            datetime.combine(expires, datetime.min.time(), timezone.utc) if expires else None)
        log.info("API key %s issued: role %s, scope %s, by %s", doc["_id"], doc["role"], doc["scope"],
                 request.environ[PRINCIPAL].key_id)
        return json_response(security.key_view(doc, token), 201)

    @http("GET", f"{BASE}/api-keys")
    @endpoint(f"{BASE}/api-keys")
    def list_keys(self, request):
        principal = request.environ[PRINCIPAL]
        keys = self.store.list_keys()
        if not principal.everywhere:      # a street's admin sees the keys of its street
            paths = self._ask("membership", "scope_facts", sorted({k["scope"] for k in keys if k["scope"]}), [], [])
            keys = [k for k in keys if k["scope"] and principal.covers(paths["units"].get(k["scope"]))]
        return json_response({"keys": [security.key_view(k) for k in keys]})

    @http("DELETE", f"{BASE}/api-keys/<key_id>")
    @endpoint(f"{BASE}/api-keys/{{id}}")
    def revoke_key(self, request, key_id):
        found = self.store.revoke_key(key_id)
        if found is None:
            raise NotFound(f"API key {key_id!r} does not exist")
        log.info("API key %s revoked by %s", key_id, request.environ[PRINCIPAL].key_id)
        return json_response(security.key_view(found))

    @http("GET", f"{BASE}/audit")
    @endpoint(f"{BASE}/audit")
    def audit_log(self, request):
        if not request.environ[PRINCIPAL].everywhere:
            raise Forbidden("the audit log is read by admins of the whole tree")
        query = load(AuditQuery(), self._args(request))
        until = datetime.combine(query["to"] + timedelta(days=1), datetime.min.time(), timezone.utc) \
            if query["to"] else None
        since = datetime.combine(query["from_"], datetime.min.time(), timezone.utc) if query["from_"] else None
        entries = self.store.audit_entries(since, until, query["key_id"], query["action"], query["limit"])
        return json_response({"entries": [security.audit_view(e) for e in entries], "count": len(entries),
                              "retention_days": self.store.retention_days})

    # -- membership -------------------------------------------------------------------
    def _command(self, request, command: str, *path_args, service: str = "membership") -> Response:
        """Validate the body at the edge (400 naming every field), then forward it;
        while the broker is down, queue it if it has an intake form (202), else 503."""
        body = request.environ.get(BODY)
        if body is None:
            body = read_json(request, self.settings.max_body_bytes)
        load(COMMANDS[service][command], body)
        queueable = outage.queueable(*request.environ[ROUTE].split(" ", 1))
        if queueable is None:
            return self._forward(getattr(getattr(self, service), command), *path_args, body)
        body = queueable.with_id(body)      # the same entity whichever way the write goes
        try:
            return self._forward(getattr(getattr(self, service), command), *path_args, body)
        except BrokerUnavailable:           # the request was not sent
            return self._queue(request, queueable, body)

    def _queue(self, request, queueable: outage.QueueableRoute, body: dict) -> Response:
        """The write as an intake envelope in the gateway's outbox: 202, published when the broker is back."""
        path = request.environ.get(PATH) or {}
        envelope, entity_id = queueable.envelope(body, path)       # 400 if the catalog refuses it
        principal = request.environ.get(PRINCIPAL)
        self.store.queue_write(envelope, queueable.route, entity_id, principal.key_id if principal else None)
        metrics.HTTP_WRITES_QUEUED.labels(queueable.route).inc()
        log.warning("%s queued while the broker is down: %s %s (event %s)", queueable.route,
                    envelope["event_type"], entity_id, envelope["event_id"])
        location = queueable.location(path, entity_id)
        return json_response(queueable.answer(envelope, entity_id), 202,
                             {"Location": location} if location else None)

    def _query(self, request, service: str, method: str, query_schema, *path_args) -> Response:
        query = self._args(request)
        load(query_schema, query)
        return self._forward(getattr(getattr(self, service), method), *path_args, query)

    @http("POST", f"{BASE}/org-units")
    @endpoint(f"{BASE}/org-units")
    def create_org_unit(self, request):
        return self._command(request, "create_org_unit")

    @http("GET", f"{BASE}/org-units/<unit_id>")
    @endpoint(f"{BASE}/org-units/{{id}}")
    def get_org_unit(self, request, unit_id):
        return self._forward(self.membership.get_org_unit, unit_id)

    @http("DELETE", f"{BASE}/org-units/<unit_id>")
    @endpoint(f"{BASE}/org-units/{{id}}")
    def delete_org_unit(self, request, unit_id):
        return self._forward(self.membership.delete_org_unit, unit_id)

    @http("GET", f"{BASE}/org-units/<unit_id>/children")
    @endpoint(f"{BASE}/org-units/{{id}}/children")
    def org_unit_children(self, request, unit_id):
        return self._forward(self.membership.org_unit_children, unit_id)

    @http("POST", f"{BASE}/org-units/<unit_id>/move")
    @endpoint(f"{BASE}/org-units/{{id}}/move")
    def move_org_unit(self, request, unit_id):
        return self._command(request, "move_org_unit", unit_id)

    @http("POST", f"{BASE}/org-units/<unit_id>/rename")
    @endpoint(f"{BASE}/org-units/{{id}}/rename")
    def rename_org_unit(self, request, unit_id):
        return self._command(request, "rename_org_unit", unit_id)

    @http("GET", f"{BASE}/org-units/<unit_id>/household-links")
    @endpoint(f"{BASE}/org-units/{{id}}/household-links")
    def household_chart(self, request, unit_id):
        return self._forward(self.membership.household_chart, unit_id)

    @http("POST", f"{BASE}/party-orgs")
    @endpoint(f"{BASE}/party-orgs")
    def create_party_org(self, request):
        return self._command(request, "create_party_org")

    @http("GET", f"{BASE}/party-orgs/<org_id>")
    @endpoint(f"{BASE}/party-orgs/{{id}}")
    def get_party_org(self, request, org_id):
        return self._forward(self.membership.get_party_org, org_id)

    @http("POST", f"{BASE}/members")
    @endpoint(f"{BASE}/members")
    def register_member(self, request):
        return self._command(request, "register_member")

    @http("GET", f"{BASE}/members/<member_id>")
    @endpoint(f"{BASE}/members/{{id}}")
    def get_member(self, request, member_id):
        return self._forward(self.membership.get_member, member_id, bool(request.environ.get(UNMASKED)))

    @http("POST", f"{BASE}/members/<member_id>/stage-changes")
    @endpoint(f"{BASE}/members/{{id}}/stage-changes")
    def change_stage(self, request, member_id):
        return self._command(request, "change_stage", member_id)

    @http("POST", f"{BASE}/members/<member_id>/probation-extensions")
    @endpoint(f"{BASE}/members/{{id}}/probation-extensions")
    def extend_probation(self, request, member_id):
        return self._command(request, "extend_probation", member_id)

    @http("POST", f"{BASE}/members/<member_id>/status-changes")
    @endpoint(f"{BASE}/members/{{id}}/status-changes")
    def change_status(self, request, member_id):
        return self._command(request, "change_status", member_id)

    @http("POST", f"{BASE}/members/<member_id>/transfers")
    @endpoint(f"{BASE}/members/{{id}}/transfers")
    def issue_transfer(self, request, member_id):
        return self._command(request, "issue_transfer", member_id)

    @http("GET", f"{BASE}/transfers/<transfer_id>")
    @endpoint(f"{BASE}/transfers/{{id}}")
    def get_transfer(self, request, transfer_id):
        return self._forward(self.membership.get_transfer, transfer_id)

    @http("POST", f"{BASE}/transfers/<transfer_id>/receipt")
    @endpoint(f"{BASE}/transfers/{{id}}/receipt")
    def receive_transfer(self, request, transfer_id):
        return self._command(request, "receive_transfer", transfer_id)

    @http("POST", f"{BASE}/household-links")
    @endpoint(f"{BASE}/household-links")
    def link_household(self, request):
        return self._command(request, "link_household")

    @http("POST", f"{BASE}/household-links/<link_id>/end")
    @endpoint(f"{BASE}/household-links/{{id}}/end")
    def unlink_household(self, request, link_id):
        return self._command(request, "unlink_household", link_id)

    # -- activities ---------------------------------------------------------------------
    @http("POST", f"{BASE}/activities")
    @endpoint(f"{BASE}/activities")
    def schedule_activity(self, request):
        return self._command(request, "schedule_activity", service="activities")

    @http("GET", f"{BASE}/activities/<activity_id>")
    @endpoint(f"{BASE}/activities/{{id}}")
    def get_activity(self, request, activity_id):
        return self._forward(self.activities.get_activity, activity_id)

    @http("POST", f"{BASE}/activities/<activity_id>/record")
    @endpoint(f"{BASE}/activities/{{id}}/record")
    def record_activity(self, request, activity_id):
        return self._command(request, "record_activity", activity_id, service="activities")

    @http("POST", f"{BASE}/activities/<activity_id>/cancel")
    @endpoint(f"{BASE}/activities/{{id}}/cancel")
    def cancel_activity(self, request, activity_id):
        return self._command(request, "cancel_activity", activity_id, service="activities")

    @http("POST", f"{BASE}/obligations")
    @endpoint(f"{BASE}/obligations")
    def set_obligation(self, request):
        return self._command(request, "set_obligation", service="activities")

    @http("GET", f"{BASE}/obligations")
    @endpoint(f"{BASE}/obligations")
    def compliance(self, request):
        return self._query(request, "activities", "compliance", ACTIVITY_QUERIES["period"])

    @http("POST", f"{BASE}/appraisals")
    @endpoint(f"{BASE}/appraisals")
    def grade_member(self, request):
        return self._command(request, "grade_member", service="activities")

    @http("GET", f"{BASE}/org-units/<unit_id>/appraisals")
    @endpoint(f"{BASE}/org-units/{{id}}/appraisals")
    def appraisal_sheet(self, request, unit_id):
        return self._query(request, "activities", "appraisal_sheet", ACTIVITY_QUERIES["year"], unit_id)

    @http("POST", f"{BASE}/deeds")
    @endpoint(f"{BASE}/deeds")
    def record_deed(self, request):
        return self._command(request, "record_deed", service="activities")

    @http("GET", f"{BASE}/deeds/<deed_id>")
    @endpoint(f"{BASE}/deeds/{{id}}")
    def get_deed(self, request, deed_id):
        return self._forward(self.activities.get_deed, deed_id)

    @http("POST", f"{BASE}/deeds/<deed_id>/decision")
    @endpoint(f"{BASE}/deeds/{{id}}/decision")
    def decide_deed(self, request, deed_id):
        return self._command(request, "decide_deed", deed_id, service="activities")

    @http("GET", f"{BASE}/org-units/<unit_id>/deeds/weekly")
    @endpoint(f"{BASE}/org-units/{{id}}/deeds/weekly")
    def weekly_deeds(self, request, unit_id):
        return self._query(request, "activities", "weekly_deeds", ACTIVITY_QUERIES["week"], unit_id)

    @http("POST", f"{BASE}/cases")
    @endpoint(f"{BASE}/cases")
    def open_case(self, request):
        return self._command(request, "open_case", service="activities")

    @http("GET", f"{BASE}/cases/<case_id>")
    @endpoint(f"{BASE}/cases/{{id}}")
    def get_case(self, request, case_id):
        return self._forward(self.activities.get_case, case_id)

    @http("POST", f"{BASE}/cases/<case_id>/start")
    @endpoint(f"{BASE}/cases/{{id}}/start")
    def start_case(self, request, case_id):
        return self._command(request, "start_case", case_id, service="activities")

    @http("POST", f"{BASE}/cases/<case_id>/resolution")
    @endpoint(f"{BASE}/cases/{{id}}/resolution")
    def resolve_case(self, request, case_id):
        return self._command(request, "resolve_case", case_id, service="activities")

    @http("POST", f"{BASE}/cases/<case_id>/close")
    @endpoint(f"{BASE}/cases/{{id}}/close")
    def close_case(self, request, case_id):
        return self._command(request, "close_case", case_id, service="activities")

    # -- inspections --------------------------------------------------------------------
    @http("POST", f"{BASE}/checklists")
    @endpoint(f"{BASE}/checklists")
    def create_checklist(self, request):
        return self._command(request, "create_checklist", service="inspections")

    @http("GET", f"{BASE}/checklists/<checklist_id>")
    @endpoint(f"{BASE}/checklists/{{id}}")
    def get_checklist(self, request, checklist_id):
        return self._forward(self.inspections.get_checklist, checklist_id)

    @http("POST", f"{BASE}/checklists/<checklist_id>/versions")
    @endpoint(f"{BASE}/checklists/{{id}}/versions")
    def revise_checklist(self, request, checklist_id):
        return self._command(request, "revise_checklist", checklist_id, service="inspections")

    @http("POST", f"{BASE}/inspection-rounds")
    @endpoint(f"{BASE}/inspection-rounds")
    def open_round(self, request):
        return self._command(request, "open_round", service="inspections")

    @http("GET", f"{BASE}/inspection-rounds/<round_id>")
    @endpoint(f"{BASE}/inspection-rounds/{{id}}")
    def get_round(self, request, round_id):
        return self._forward(self.inspections.get_round, round_id)

    @http("POST", f"{BASE}/inspection-rounds/<round_id>/close")
    @endpoint(f"{BASE}/inspection-rounds/{{id}}/close")
    def close_round(self, request, round_id):
        return self._command(request, "close_round", round_id, service="inspections")

    @http("GET", f"{BASE}/inspection-rounds/<round_id>/ranking")
    @endpoint(f"{BASE}/inspection-rounds/{{id}}/ranking")
    def round_ranking(self, request, round_id):
        return self._forward(self.inspections.round_ranking, round_id)

    @http("GET", f"{BASE}/inspection-rounds/<round_id>/units/<unit_id>")
    @endpoint(f"{BASE}/inspection-rounds/{{id}}/units/{{unit_id}}")
    def round_unit(self, request, round_id, unit_id):
        return self._forward(self.inspections.round_unit, round_id, unit_id)

    @http("POST", f"{BASE}/inspection-rounds/<round_id>/assessments")
    @endpoint(f"{BASE}/inspection-rounds/{{id}}/assessments")
    def record_assessment(self, request, round_id):
        return self._command(request, "record_assessment", round_id, service="inspections")

    @http("POST", f"{BASE}/findings")
    @endpoint(f"{BASE}/findings")
    def raise_finding(self, request):
        return self._command(request, "raise_finding", service="inspections")

    @http("GET", f"{BASE}/findings/<finding_id>")
    @endpoint(f"{BASE}/findings/{{id}}")
    def get_finding(self, request, finding_id):
        return self._forward(self.inspections.get_finding, finding_id)

    @http("POST", f"{BASE}/findings/<finding_id>/decision")
    @endpoint(f"{BASE}/findings/{{id}}/decision")
    def decide_finding(self, request, finding_id):
        return self._command(request, "decide_finding", finding_id, service="inspections")

    @http("POST", f"{BASE}/findings/<finding_id>/rectification")
    @endpoint(f"{BASE}/findings/{{id}}/rectification")
    def plan_rectification(self, request, finding_id):
        return self._command(request, "plan_rectification", finding_id, service="inspections")

    @http("POST", f"{BASE}/findings/<finding_id>/progress")
    @endpoint(f"{BASE}/findings/{{id}}/progress")
    def start_rectification(self, request, finding_id):
        return self._command(request, "start_rectification", finding_id, service="inspections")

    @http("POST", f"{BASE}/findings/<finding_id>/submission")
    @endpoint(f"{BASE}/findings/{{id}}/submission")
    def submit_rectification(self, request, finding_id):
        return self._command(request, "submit_rectification", finding_id, service="inspections")

    @http("POST", f"{BASE}/findings/<finding_id>/verification")
    @endpoint(f"{BASE}/findings/{{id}}/verification")
    def verify_rectification(self, request, finding_id):
        return self._command(request, "verify_rectification", finding_id, service="inspections")

    @http("POST", f"{BASE}/findings/<finding_id>/follow-ups")
    @endpoint(f"{BASE}/findings/{{id}}/follow-ups")
    def follow_up(self, request, finding_id):
        return self._command(request, "follow_up", finding_id, service="inspections")

    # -- honours -------------------------------------------------------------------------
    @http("POST", f"{BASE}/honour-categories")
    @endpoint(f"{BASE}/honour-categories")
    def create_category(self, request):
        return self._command(request, "create_category", service="honours")

    @http("GET", f"{BASE}/honour-categories/<category_id>")
    @endpoint(f"{BASE}/honour-categories/{{id}}")
    def get_category(self, request, category_id):
        return self._forward(self.honours.get_category, category_id)

    @http("POST", f"{BASE}/nominations")
    @endpoint(f"{BASE}/nominations")
    def nominate(self, request):
        return self._command(request, "nominate", service="honours")

    @http("GET", f"{BASE}/nominations/<nomination_id>")
    @endpoint(f"{BASE}/nominations/{{id}}")
    def get_nomination(self, request, nomination_id):
        return self._forward(self.honours.get_nomination, nomination_id)

    @http("POST", f"{BASE}/nominations/<nomination_id>/decisions")
    @endpoint(f"{BASE}/nominations/{{id}}/decisions")
    def decide(self, request, nomination_id):
        return self._command(request, "decide", nomination_id, service="honours")

    @http("POST", f"{BASE}/nominations/<nomination_id>/objections")
    @endpoint(f"{BASE}/nominations/{{id}}/objections")
    def object_to(self, request, nomination_id):
        return self._command(request, "object_to", nomination_id, service="honours")

    @http("GET", f"{BASE}/honours")
    @endpoint(f"{BASE}/honours")
    def honours_register(self, request):
        return self._query(request, "honours", "register", HONOUR_QUERIES["register"])

    # -- reporting --------------------------------------------------------------------
    @http("GET", f"{BASE}/reports/summary")
    @endpoint(f"{BASE}/reports/summary")
    def summary(self, request):
        return self._query(request, "reporting", "summary", SUMMARY_QUERY)

    @http("GET", f"{BASE}/reports/summary.csv")
    @endpoint(f"{BASE}/reports/summary.csv")
    def summary_csv(self, request):
        summary = self._summary(request)
        return Response(exports.summary_csv(summary), mimetype="text/csv",
                        headers={"Content-Disposition": _attachment(summary, "csv")})

    @http("GET", f"{BASE}/reports/summary.xlsx")
    @endpoint(f"{BASE}/reports/summary.xlsx")
    def summary_xlsx(self, request):
        summary = self._summary(request)
        return Response(exports.summary_xlsx(summary, summary.get("org_unit_name")), mimetype=XLSX,
                        headers={"Content-Disposition": _attachment(summary, "xlsx")})

    @http("GET", f"{BASE}/reports/narrative")
    @endpoint(f"{BASE}/reports/narrative")
    def summary_narrative(self, request):
        summary = self._summary(request)
        text = narrative.narrative(summary, summary.get("org_unit_name") or summary["org_unit_id"])
        if "application/json" in (request.headers.get("Accept") or ""):
            return json_response({"org_unit_id": summary["org_unit_id"], "from": summary["from"],
                                  "to": summary["to"], "text": text})
        return Response(text, mimetype="text/plain")

    def _summary(self, request) -> dict:
        """The summary, for the renderings of it (the same figures, other forms)."""
        query = self._args(request)
        load(SUMMARY_QUERY, query)
        return unwrap(self._call(self.reporting.summary, query))[1]

    @http("GET", f"{BASE}/reports/{REPORT_RULE}")
    @endpoint(f"{BASE}/reports/{{report}}")
    def table_report(self, request, report):
        return json_response(self._report(request, report))

    @http("GET", f"{BASE}/reports/{REPORT_RULE}.csv")
    @endpoint(f"{BASE}/reports/{{report}}.csv")
    def table_report_csv(self, request, report):
        body = self._report(request, report)
        return Response(exports.table_csv(body), mimetype="text/csv",
                        headers={"Content-Disposition": _attachment(body, "csv", report)})

    @http("GET", f"{BASE}/reports/{REPORT_RULE}.xlsx")
    @endpoint(f"{BASE}/reports/{{report}}.xlsx")
    def table_report_xlsx(self, request, report):
        body = self._report(request, report)
        return Response(exports.table_xlsx(body), mimetype=XLSX,
                        headers={"Content-Disposition": _attachment(body, "xlsx", report)})

    def _report(self, request, report: str) -> dict:
        query = self._args(request)
        load(REPORT_QUERY, query)
        return unwrap(self._call(self.reporting.report, report, query))[1]

    @http("GET", f"{BASE}/events")
    @endpoint(f"{BASE}/events")
    def stored_events(self, request):
        query = self._args(request)
        if len(request.args.getlist("event_type")) > 1:       # ?event_type=a&event_type=b
            query["event_type"] = ",".join(request.args.getlist("event_type"))
        load(EVENTS_QUERY, query)
        return self._forward(self.reporting.events, query)

    @http("GET", f"{BASE}/reports/snapshots")
    @endpoint(f"{BASE}/reports/snapshots")
    def snapshots(self, request):
        return self._query(request, "reporting", "snapshots", SNAPSHOTS_QUERY)

    @http("POST", f"{BASE}/reports/snapshots")
    @endpoint(f"{BASE}/reports/snapshots")
    def publish_snapshot(self, request):
        return self._command(request, "publish_snapshot", service="reporting")

    @http("GET", f"{BASE}/reports/freshness")
    @endpoint(f"{BASE}/reports/freshness")
    def freshness(self, request):
        return self._forward(self.reporting.freshness)

    @http("GET", f"{BASE}/rejections")
    @endpoint(f"{BASE}/rejections")
    def rejections(self, request):
        limit = min(max(int(request.args.get("limit", 100) or 100), 1), 1000) \
            if str(request.args.get("limit", "100")).isdigit() else 100
        found, unavailable = [], []
        for name in BACKENDS:
            try:
                found.extend(self._call(getattr(self, name).rejections, limit))
            except (UnknownService, amqp.exceptions.ChannelError, eventlet.Timeout, BrokerUnavailable):
                unavailable.append(name)   # say so, and list what the others hold
        found.sort(key=lambda r: r["rejected_at"], reverse=True)
        return json_response({"rejections": found[:limit], "count": len(found[:limit]),
                              "unavailable": unavailable})

    # -- dashboard (static page and its assets; services/gateway/dashboard.py) ------------
    @http("GET", "/dashboard")
    @endpoint("/dashboard")
    def dashboard_page(self, request):
        return _dashboard_file(request, "index.html")

    @http("GET", "/dashboard/<name>")
    @endpoint("/dashboard/{name}")
    def dashboard_file(self, request, name):
        return _dashboard_file(request, name)

    @http("GET", "/dashboard/vendor/<name>")
    @endpoint("/dashboard/vendor/{name}")
    def dashboard_vendor_file(self, request, name):
        return _dashboard_file(request, f"vendor/{name}")


def _dashboard_file(request, name: str) -> Response:
    from lianxin.errors import NotFound

    from . import dashboard   # imported here to keep the dashboard's code in one block of this file
    found = dashboard.asset(name)
    if found is None:
        return problem_response(NotFound(f"no dashboard file {name!r}"))
    if found.not_modified(request.headers.get("If-None-Match")):
        return Response(status=304, headers=found.headers)
    return Response(found.body, content_type=found.mimetype, headers=found.headers)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attachment(summary: dict, extension: str, report: str = "summary") -> str:
    from urllib.parse import quote
    name = f"{report}-{summary['org_unit_id']}-{summary['from']}-{summary['to']}.{extension}"
    return f"attachment; filename*=UTF-8''{quote(name)}"

