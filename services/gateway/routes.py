"""The public routes: one table that both serves requests and documents them.

Each route names the RPC it forwards to and the schemas that describe it, so
the OpenAPI document can never drift from what is served.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import Schema, fields

from services.membership.schemas import CreateOrgUnit, RegisterMember
from services.reporting.schemas import SummaryQuery

BASE = "/api/v1"


@dataclass(frozen=True)
class Route:
    method: str
    path: str              # werkzeug rule, e.g. /api/v1/members/<member_id>
    summary: str
    tag: str
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    responses: dict = field(default_factory=dict)  # status -> description


class OrgUnitView(Schema):
    id = fields.String()
    name = fields.String()
    level = fields.String()
    parent_id = fields.String(allow_none=True)
    path = fields.List(fields.String())


class MemberView(Schema):
    id = fields.String()
    name = fields.String()
    gender = fields.String()
    birth_date = fields.Date()
    org_unit_id = fields.String()
    stage = fields.String()
    stage_since = fields.Date()
    admitted_on = fields.Date(allow_none=True)
    status = fields.String()
    id_number = fields.String(allow_none=True, metadata={"description": "masked"})
    phone = fields.String(allow_none=True, metadata={"description": "masked"})


CREATE = {201: "created", 200: "the same id posted again with the same body",
          400: "invalid input", 404: "a referenced id does not exist",
          409: "the id exists with a different body", 413: "body too large"}
READ = {200: "found", 404: "unknown id"}

ROUTES = (
    Route("POST", f"{BASE}/org-units", "Create an org unit", "membership", body=CreateOrgUnit, responses=CREATE),
    Route("GET", f"{BASE}/org-units/<unit_id>", "An org unit", "membership", responses=READ),
    Route("GET", f"{BASE}/org-units/<unit_id>/children", "An org unit's children", "membership", responses=READ),
    Route("POST", f"{BASE}/members", "Register a member", "membership", body=RegisterMember, responses=CREATE),
    Route("GET", f"{BASE}/members/<member_id>", "A member (ID number and phone masked)", "membership",
          responses=READ),
    Route("GET", f"{BASE}/reports/summary", "Summary figures for an org unit subtree and period", "reporting",
          query=SummaryQuery, responses={200: "the summary", 400: "invalid query", 404: "unknown org unit"}),
    Route("GET", f"{BASE}/rejections", "Events rejected by any service, newest first", "operations",
          responses={200: "rejections"}),
)
