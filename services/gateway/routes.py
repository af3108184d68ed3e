"""The public routes: one table that both serves requests and documents them.

Each route names the RPC it forwards to and the schemas that describe it, so
the OpenAPI document can never drift from what is served.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import Schema, fields

from services.membership.schemas import (
    ChangeStatus, CreateOrgUnit, CreatePartyOrg, ExtendProbation, IssueTransfer, LinkHousehold, MoveOrgUnit,
    ReceiveTransfer, RegisterMember, RenameOrgUnit, StageChangeBody, UnlinkHousehold,
)
from services.activities.schemas import (
    CancelActivity, CloseCase, DecideDeed, GradeMember, OpenCase, PeriodQuery, RecordActivity, RecordDeed,
    ResolutionBody, ScheduleActivity, SetObligation, StartCase, WeekQuery, YearQuery,
)
from services.honours.schemas import CreateCategory, Decide, Nominate, RaiseObjection, RegisterQuery
from services.inspections.schemas import (
    AssessmentBody, CloseRound, CreateChecklist, DecideFinding, FollowUp, OpenRound, PlanRectification,
    RaiseFinding, ReviseChecklist, StartRectification, SubmissionBody, VerifyRectification,
)
from services.reporting.reports import REPORTS
from services.reporting.schemas import AsOfQuery, EventsQuery, PublishSnapshot, ReportQuery, SnapshotsQuery

from .schemas import AuditQuery, IssueKey

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
    id_number = fields.String(allow_none=True, metadata={"description": "masked unless the role sees personal data"})
    phone = fields.String(allow_none=True, metadata={"description": "masked unless the role sees personal data"})


CREATE = {201: "created", 200: "the same id posted again with the same body",
          400: "invalid input", 404: "a referenced id does not exist",
          409: "the id exists with a different body, or the rules forbid it", 413: "body too large"}
CHANGE = {200: "changed", 400: "invalid input", 404: "unknown id",
          409: "an illegal state change (the rule is named)", 413: "body too large"}
READ = {200: "found", 404: "unknown id"}

ROUTES = (
    # membership: the administrative tree
    Route("POST", f"{BASE}/org-units", "Create an org unit", "membership", body=CreateOrgUnit, responses=CREATE),
    Route("GET", f"{BASE}/org-units/<unit_id>", "An org unit, with its history of moves and names", "membership",
          responses=READ),
    Route("GET", f"{BASE}/org-units/<unit_id>/children", "An org unit's children", "membership", responses=READ),
    Route("POST", f"{BASE}/org-units/<unit_id>/move", "Move an org unit (and its subtree) under another parent",
          "membership", body=MoveOrgUnit, responses=CHANGE),
    Route("POST", f"{BASE}/org-units/<unit_id>/rename", "Rename an org unit (the old name stays in history)",
          "membership", body=RenameOrgUnit, responses=CHANGE),
    Route("DELETE", f"{BASE}/org-units/<unit_id>", "Delete an org unit with no members and no children",
          "membership", responses={204: "deleted", 404: "unknown id", 409: "has members or children"}),
    Route("GET", f"{BASE}/org-units/<unit_id>/household-links",
          "Household link chart (谁联谁): members of the subtree and the households each looks after",
          "membership", responses=READ),
    # membership: the Party organisation tree
    Route("POST", f"{BASE}/party-orgs", "Create a Party organisation attached to an org unit", "membership",
          body=CreatePartyOrg, responses=CREATE),
    Route("GET", f"{BASE}/party-orgs/<org_id>", "A Party organisation", "membership", responses=READ),
    # membership: members
    Route("POST", f"{BASE}/members", "Register a member", "membership", body=RegisterMember, responses=CREATE),
    Route("GET", f"{BASE}/members/<member_id>", "A member (ID number and phone unmasked for admins and "
          "secretaries, each such read audited; masked for every other role)", "membership", responses=READ),
    Route("POST", f"{BASE}/members/<member_id>/stage-changes", "Move a member to the next stage", "membership",
          body=StageChangeBody, responses=CHANGE),
    Route("POST", f"{BASE}/members/<member_id>/probation-extensions", "Extend probation once (6-12 months)",
          "membership", body=ExtendProbation, responses=CHANGE),
    Route("POST", f"{BASE}/members/<member_id>/status-changes",
          "Change a member's status (flowing, or leaving: transferred_out, deceased, expelled, probation_cancelled)",
          "membership", body=ChangeStatus, responses=CHANGE),
    Route("POST", f"{BASE}/members/<member_id>/transfers", "Issue a transfer letter (组织关系介绍信)", "membership",
          body=IssueTransfer, responses=CREATE),
    Route("GET", f"{BASE}/transfers/<transfer_id>", "A transfer letter", "membership", responses=READ),
    Route("POST", f"{BASE}/transfers/<transfer_id>/receipt", "The receiving unit receives the letter",
          "membership", body=ReceiveTransfer, responses=CHANGE),
    # membership: household links
    Route("POST", f"{BASE}/household-links", "Link a member to a household (党员联户)", "membership",
          body=LinkHousehold, responses=CREATE),
    Route("POST", f"{BASE}/household-links/<link_id>/end", "End a household link", "membership",
          body=UnlinkHousehold, responses=CHANGE),
    # activities: 三会一课 and lectures
    Route("POST", f"{BASE}/activities", "Schedule an activity (lecture sessions are numbered in their series)",
          "activities", body=ScheduleActivity, responses=CREATE),
    Route("GET", f"{BASE}/activities/<activity_id>", "An activity", "activities", responses=READ),
    Route("POST", f"{BASE}/activities/<activity_id>/record",
          "Record an activity as held: attendance, absentees with reasons, speakers with roles "
          "(a members' meeting needs more than half of the voting members)", "activities",
          body=RecordActivity, responses=CHANGE),
    Route("POST", f"{BASE}/activities/<activity_id>/cancel", "Cancel a scheduled activity", "activities",
          body=CancelActivity, responses=CHANGE),
    Route("POST", f"{BASE}/obligations", "Set how often an activity kind is due (one organisation or all)",
          "activities", body=SetObligation, responses={200: "set", 400: "invalid input", 404: "unknown unit"}),
    Route("GET", f"{BASE}/obligations", "三会一课 compliance: due, held and missed per organisation and period",
          "activities", query=PeriodQuery, responses={200: "compliance", 400: "invalid query", 404: "unknown unit"}),
    Route("POST", f"{BASE}/appraisals", "Grade a member in the yearly appraisal (优秀 ≤ 1/3)", "activities",
          body=GradeMember, responses={201: "graded", 400: "invalid input", 404: "unknown member",
                                       409: "a rule forbids it (named)"}),
    Route("GET", f"{BASE}/org-units/<unit_id>/appraisals", "A unit's appraisal grades for a year", "activities",
          query=YearQuery, responses={200: "the grades"}),
    # activities: small deeds
    Route("POST", f"{BASE}/deeds", "Record a member's small deed (谁记录谁证明)", "activities",
          body=RecordDeed, responses=CREATE),
    Route("GET", f"{BASE}/deeds/<deed_id>", "A deed", "activities", responses=READ),
    Route("POST", f"{BASE}/deeds/<deed_id>/decision", "The community verifies or disputes a deed", "activities",
          body=DecideDeed, responses=CHANGE),
    Route("GET", f"{BASE}/org-units/<unit_id>/deeds/weekly",
          "Deeds per member in an ISO week, and the members who have done none", "activities",
          query=WeekQuery, responses=READ),
    # activities: cases
    Route("POST", f"{BASE}/cases", "Open a case: a difficult matter or a dispute", "activities",
          body=OpenCase, responses=CREATE),
    Route("GET", f"{BASE}/cases/<case_id>", "A case", "activities", responses=READ),
    Route("POST", f"{BASE}/cases/<case_id>/start", "Start work on a case", "activities",
          body=StartCase, responses=CHANGE),
    Route("POST", f"{BASE}/cases/<case_id>/resolution", "Resolve a case (solved, or mediated)", "activities",
          body=ResolutionBody, responses=CHANGE),
    Route("POST", f"{BASE}/cases/<case_id>/close", "Close a case without a resolution", "activities",
          body=CloseCase, responses=CHANGE),
    # inspections (党建巡诊)
    Route("POST", f"{BASE}/checklists", "Create a checklist template (version 1)", "inspections",
          body=CreateChecklist, responses=CREATE),
    Route("GET", f"{BASE}/checklists/<checklist_id>", "A checklist with all its versions", "inspections",
          responses=READ),
    Route("POST", f"{BASE}/checklists/<checklist_id>/versions", "Add a version of a checklist", "inspections",
          body=ReviseChecklist, responses={201: "the new version", 404: "unknown id", 409: "unchanged"}),
    Route("POST", f"{BASE}/inspection-rounds",
          "Open a round: scope (the communities under it are assessed), checklist, dates, inspectors",
          "inspections", body=OpenRound, responses=CREATE),
    Route("GET", f"{BASE}/inspection-rounds/<round_id>", "A round: units assessed and still to assess",
          "inspections", responses=READ),
    Route("POST", f"{BASE}/inspection-rounds/<round_id>/close", "Close a round", "inspections",
          body=CloseRound, responses=CHANGE),
    Route("GET", f"{BASE}/inspection-rounds/<round_id>/ranking", "Units of a round ranked by score",
          "inspections", responses=READ),
    Route("GET", f"{BASE}/inspection-rounds/<round_id>/units/<unit_id>",
          "One unit in a round: score, rank, open and overdue findings, and activities' evidence",
          "inspections", responses=READ),
    Route("POST", f"{BASE}/inspection-rounds/<round_id>/assessments",
          "Assess a unit: a score per checklist item, and the findings (confirmed)", "inspections",
          body=AssessmentBody, responses=CREATE),
    Route("POST", f"{BASE}/findings", "Raise a draft finding", "inspections", body=RaiseFinding,
          responses=CREATE),
    Route("GET", f"{BASE}/findings/<finding_id>", "A finding with its history", "inspections", responses=READ),
    Route("POST", f"{BASE}/findings/<finding_id>/decision", "An inspector confirms or dismisses a draft",
          "inspections", body=DecideFinding, responses=CHANGE),
    Route("POST", f"{BASE}/findings/<finding_id>/rectification", "The rectification plan: owner, due date, plan",
          "inspections", body=PlanRectification, responses=CHANGE),
    Route("POST", f"{BASE}/findings/<finding_id>/progress", "Work on the rectification began", "inspections",
          body=StartRectification, responses=CHANGE),
    Route("POST", f"{BASE}/findings/<finding_id>/submission", "Submit evidence of rectification", "inspections",
          body=SubmissionBody, responses=CHANGE),
    Route("POST", f"{BASE}/findings/<finding_id>/verification",
          "An inspector of the round verifies (passed) or reopens (failed)", "inspections",
          body=VerifyRectification, responses=CHANGE),
    Route("POST", f"{BASE}/findings/<finding_id>/follow-ups",
          "A follow-up visit (回头看); reopens the finding if the problem came back", "inspections",
          body=FollowUp, responses=CHANGE),
    # honours
    Route("POST", f"{BASE}/honour-categories", "Create an honour category", "honours", body=CreateCategory,
          responses=CREATE),
    Route("GET", f"{BASE}/honour-categories/<category_id>", "An honour category", "honours", responses=READ),
    Route("POST", f"{BASE}/nominations", "Nominate a member (individual) or an org unit (collective)", "honours",
          body=Nominate, responses=CREATE),
    Route("GET", f"{BASE}/nominations/<nomination_id>", "A nomination with its history and objections",
          "honours", responses=READ),
    Route("POST", f"{BASE}/nominations/<nomination_id>/decisions",
          "approve > publicize (公示) > award, or reject; revoke an award", "honours", body=Decide,
          responses=CHANGE),
    Route("POST", f"{BASE}/nominations/<nomination_id>/objections", "An objection during public notice",
          "honours", body=RaiseObjection, responses=CHANGE),
    Route("GET", f"{BASE}/honours", "The honours register (by unit subtree, year or member)", "honours",
          query=RegisterQuery, responses={200: "the register", 400: "invalid query", 404: "unknown unit"}),
    # reporting
    Route("GET", f"{BASE}/reports/summary", "Summary figures for an org unit subtree and period", "reporting",
          query=AsOfQuery, responses={200: "the summary", 400: "invalid query", 404: "unknown org unit"}),
    Route("GET", f"{BASE}/reports/summary.csv", "The summary as CSV (UTF-8 with BOM)", "reporting",
          query=AsOfQuery, responses={200: "text/csv", 400: "invalid query", 404: "unknown org unit"}),
    Route("GET", f"{BASE}/reports/summary.xlsx", "The summary as an XLSX workbook", "reporting",
          query=AsOfQuery, responses={200: "the workbook", 400: "invalid query", 404: "unknown org unit"}),
    Route("GET", f"{BASE}/reports/narrative",
          "The summary as Chinese prose in the style of the source article (text/plain, or JSON on Accept)",
          "reporting", query=AsOfQuery, responses={200: "the narrative", 400: "invalid query",
                                                      404: "unknown org unit"}),
    Route("GET", f"{BASE}/reports/<any({','.join(sorted(REPORTS))}):report>",
          "A table report: deeds (by community, week, member or household), compliance (三会一课 by branch and "
          "month), inspections (by round and unit, and by zone), honours (the register), cases (by community)",
          "reporting", query=ReportQuery, responses={200: "the report", 400: "invalid query", 404: "unknown org unit"}),
    Route("GET", f"{BASE}/reports/<any({','.join(sorted(REPORTS))}):report>.csv",
          "A table report as CSV (UTF-8 with BOM)", "reporting", query=ReportQuery,
          responses={200: "text/csv", 400: "invalid query", 404: "unknown org unit"}),
    Route("GET", f"{BASE}/reports/<any({','.join(sorted(REPORTS))}):report>.xlsx",
          "A table report as an XLSX workbook", "reporting", query=ReportQuery,
          responses={200: "the workbook", 400: "invalid query", 404: "unknown org unit"}),
    Route("GET", f"{BASE}/events", "The event store: every event kept once, by type, org unit and time (oldest first)",
          "reporting", query=EventsQuery, responses={200: "events and the next page's cursor", 400: "invalid query",
                                                     404: "unknown org unit"}),
    Route("GET", f"{BASE}/reports/snapshots", "Snapshots of closed periods (the downstream feed), oldest first",
          "reporting", query=SnapshotsQuery, responses={200: "the snapshots", 400: "invalid query"}),
    Route("POST", f"{BASE}/reports/snapshots",
          "Publish a closed period's snapshot now (e.g. after loading history); once per unit and period",
          "reporting", body=PublishSnapshot,
          responses={201: "published", 200: "already published", 400: "invalid body", 404: "unknown org unit",
                     409: "the period has not closed"}),
    Route("GET", f"{BASE}/reports/freshness",
          "How far behind the reports are: events applied, the last one's time, queue backlogs", "reporting",
          responses={200: "freshness"}),
    Route("GET", f"{BASE}/rejections", "Events rejected by any service, newest first", "operations",
          responses={200: "rejections"}),
    # access: API keys and the audit log (admins; docs/security.md)
    Route("POST", f"{BASE}/api-keys", "Issue an API key for a role and an org unit subtree; the token is "
          "shown in this answer only", "access", body=IssueKey,
          responses={201: "the key, with its token", 400: "invalid input", 413: "body too large"}),
    Route("GET", f"{BASE}/api-keys", "The API keys (never their tokens or hashes)", "access",
          responses={200: "the keys"}),
    Route("DELETE", f"{BASE}/api-keys/<key_id>", "Revoke an API key (at once, for good)", "access",
          responses={200: "the key, revoked", 404: "unknown key"}),
    Route("GET", f"{BASE}/audit", "The audit log: every write and every unmasked read of personal data, "
          "newest first (admins of the whole tree)", "access", query=AuditQuery,
          responses={200: "entries", 400: "invalid query"}),
    # dashboard: a static page (HTML, ECharts shipped with it) that draws the reports above
    Route("GET", "/dashboard",
          "The dashboard page (text/html); ?org_unit_id=&from=&to=&community= open a given view", "dashboard",
          responses={200: "the page (text/html)", 304: "not modified (ETag)"}),
    Route("GET", "/dashboard/<name>", "A file of the dashboard (script, style sheet)", "dashboard",
          responses={200: "the file", 304: "not modified (ETag)", 404: "no such file"}),
    Route("GET", "/dashboard/vendor/<name>", "A vendored library of the dashboard (ECharts) or its licence",
          "dashboard", responses={200: "the file", 304: "not modified (ETag)", 404: "no such file"}),
)
