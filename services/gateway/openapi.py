"""The OpenAPI document, generated from the route table and its schemas."""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from . import outage
from .routes import ROUTES

PROBLEM = {
    "type": "object",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                   "detail": {"type": "string"},
                   "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}},
    "required": ["type", "title", "status", "detail"],
}

QUEUED = {
    "type": "object",
    "description": "A write accepted while the message broker was down (services/gateway/outage.py): stored "
                   "in the gateway's outbox as the matching intake event and applied by the owning service "
                   "once the broker returns (eventually consistent; until then a GET of the id answers 404). "
                   "A rejection (a rule refused it) is read back at GET /api/v1/rejections.",
    "properties": {"status": {"type": "string", "enum": ["queued"]},
                   "id": {"type": "string", "description": "the id the written entity has (or will have)"},
                   "event_id": {"type": "string", "description": "the intake event's id"},
                   "event_type": {"type": "string", "description": "the intake command it became"},
                   "detail": {"type": "string"}},
    "required": ["status", "id", "event_id", "detail"],
}
UNAVAILABLE = ("a service, or the message broker, is unavailable; during a broker outage the answer "
               "carries Retry-After")


# werkzeug rules: <name>, or <any(a,b,c):name> (a path parameter with an enum)
RULE_PARAM = re.compile(r"<(?:any\((?P<choices>[^)]*)\):)?(?P<name>\w+)>")


def _openapi_path(rule: str) -> tuple[str, list[dict]]:
    params = []
    for match in RULE_PARAM.finditer(rule):
        schema = {"type": "string"}
        if match["choices"]:
            schema["enum"] = [c.strip() for c in match["choices"].split(",")]
        params.append({"in": "path", "name": match["name"], "required": True, "schema": schema})
    return RULE_PARAM.sub(r"{\g<name>}", rule), params


def build() -> dict:
    spec = APISpec(title="Lianxin (连心) API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Grassroots Party-building platform: the public contract (API.md)."})
    spec.components.schema("Problem", PROBLEM)
    spec.components.schema("QueuedWrite", QUEUED)
    # Every operation needs an API key (docs/security.md) unless it says `security: []`.
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "description": "an API key: Authorization: Bearer <token>"})
    spec.options["security"] = [{"bearer": []}]
    for route in ROUTES:
        path, params = _openapi_path(route.path)
        operation: dict = {"summary": route.summary, "tags": [route.tag], "responses": {}}
        parameters = list(params)
        if route.query is not None:
            parameters.append({"in": "query", "schema": route.query})
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            operation["requestBody"] = {"required": True,
                                        "content": {"application/json": {"schema": route.body}}}
        responses = dict(route.responses)
        if route.tag == "dashboard":
            operation["security"] = []         # static files; the data comes from the API, with a key
        else:
            responses.update({401: "no API key, or one unknown, revoked or expired",
                              403: "the key's role or scope does not allow this", 503: UNAVAILABLE})
        queueable = outage.queueable(route.method, route.path)
        if queueable is not None:
            responses[202] = (f"queued: the message broker is down; the write is stored as a "
                              f"{queueable.command} intake event and applied when it returns "
                              f"(Location: the entity's GET route, where it has one)")
        for status, description in sorted(responses.items()):
            if status == 202:
                content = {"application/json": {"schema": "QueuedWrite"}}
            elif status >= 400:
                content = {"application/problem+json": {"schema": "Problem"}}
            else:
                content = {"application/json": {"schema": {"type": "object"}}}
            operation["responses"][str(status)] = {"description": description, "content": content}
            if status == 202:
                operation["responses"]["202"]["headers"] = {"Location": {
                    "description": "the entity's GET route, where it has one", "schema": {"type": "string"}}}
            elif status == 503:
                operation["responses"]["503"]["headers"] = {"Retry-After": {
                    "description": "seconds (during a broker outage)", "schema": {"type": "integer"}}}
        spec.path(path=path, operations={route.method.lower(): operation})
    for path, summary in (("/healthz", "The process is up"),
                          ("/readyz", "Broker and stores reachable (while the broker is down: 503 at once, "
                                      "broker false, the services unreachable)")):
        spec.path(path=path, operations={"get": {"summary": summary, "tags": ["operations"], "security": [],
                                                 "responses": {"200": {"description": "ok"},
                                                               "503": {"description": "not ready"}}}})
    return spec.to_dict()
