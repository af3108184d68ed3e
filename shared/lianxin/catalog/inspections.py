"""Inspections' published language: 党建巡诊 rounds, assessments, findings and
their rectification to the end."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..fields import Id, OneOf, Text
from . import CATALOG

SEVERITIES = ("low", "medium", "high")
FINDING_STATUSES = ("draft", "confirmed", "dismissed", "planned", "in_progress", "submitted", "verified",
                    "reopened")
OPEN_FINDING_STATUSES = ("confirmed", "planned", "in_progress", "submitted", "reopened")


class ChecklistItem(Schema):
    item = Text(100, required=True)
    max_score = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False, max=1000))
    weight = fields.Float(load_default=1.0, validate=validate.Range(min=0, min_inclusive=False, max=100))


def _unique_items(items) -> None:
    names = [i["item"] for i in items]
    if len(names) != len(set(names)):
        raise ValidationError("each item appears once", "checklist")


# -- commands -------------------------------------------------------------------

class CreateChecklist(Schema):
    id = Id()
    name = Text(100, required=True)
    items = fields.List(fields.Nested(ChecklistItem), required=True, validate=validate.Length(min=1, max=200))

    @validates_schema(skip_on_field_errors=True)
    def _unique(self, data, **_):
        _unique_items(data["items"])


class ReviseChecklist(Schema):
    items = fields.List(fields.Nested(ChecklistItem), required=True, validate=validate.Length(min=1, max=200))

    @validates_schema(skip_on_field_errors=True)
    def _unique(self, data, **_):
        _unique_items(data["items"])


class OpenRound(Schema):
    id = Id()
    name = Text(100, required=True)
    scope_org_unit_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=500))
    checklist = fields.List(fields.Nested(ChecklistItem), load_default=None, allow_none=True,
                            metadata={"description": "inline items; or name a checklist template"})
    checklist_id = Id(load_default=None, allow_none=True)
    checklist_version = fields.Integer(load_default=None, allow_none=True, strict=True,
                                       metadata={"description": "default: the template's latest version"})
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    inspectors = fields.List(Id(), load_default=list, metadata={"description": "who may verify rectifications"})
    follows_round_id = Id(load_default=None, allow_none=True,
                          metadata={"description": "a second round over the same units (回头看)"})

    @validates_schema(skip_on_field_errors=False)
    def _shape(self, data, **_):
        if bool(data.get("checklist")) == bool(data.get("checklist_id")):
            raise ValidationError("give either inline checklist items or a checklist_id", "checklist")
        if data.get("checklist"):
            _unique_items(data["checklist"])
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            raise ValidationError("must not be before starts_on", "ends_on")


class FindingInput(Schema):
    id = Id()
    item = Text(100, required=True)
    severity = OneOf(SEVERITIES, required=True)
    description = Text(2000, required=True)


@CATALOG.intake_command(
    "assessment_recorded", owner="inspections", http="POST /api/v1/inspection-rounds/{id}/assessments",
    description="An assessment of one unit in a round, from an inspector's app.",
)
class RecordAssessment(Schema):
    id = Id()
    round_id = Id(required=True, metadata={"description": "intake only; HTTP takes it from the path"})
    org_unit_id = Id(required=True)
    inspected_on = fields.Date(required=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    findings = fields.List(fields.Nested(FindingInput), load_default=list)
    inspector = Id(load_default=None, allow_none=True)


class RaiseFinding(Schema):
    id = Id()
    round_id = Id(required=True)
    org_unit_id = Id(required=True)
    item = Text(100, required=True)
    severity = OneOf(SEVERITIES, required=True)
    description = Text(2000, required=True)
    found_on = fields.Date(required=True)


class DecideFinding(Schema):
    decision = OneOf(("confirm", "dismiss"), required=True)
    decided_on = fields.Date(required=True)
    inspector = Id(required=True)
    note = Text(500, load_default=None, allow_none=True)


class PlanRectification(Schema):
    owner = Text(100, required=True)
    due_on = fields.Date(required=True)
    plan = Text(5000, required=True)


class StartRectification(Schema):
    started_on = fields.Date(required=True)


@CATALOG.intake_command(
    "rectification_submitted", owner="inspections", http="POST /api/v1/findings/{id}/submission",
    description="Evidence that a finding was rectified, from the unit's system.",
)
class SubmitRectification(Schema):
    finding_id = Id(required=True, metadata={"description": "intake only; HTTP takes it from the path"})
    submitted_on = fields.Date(required=True)
    evidence = Text(5000, required=True)


class VerifyRectification(Schema):
    verified_on = fields.Date(required=True)
    passed = fields.Boolean(required=True)
    inspector = Id(required=True)
    note = Text(2000, load_default=None, allow_none=True)


class FollowUp(Schema):
    visited_on = fields.Date(required=True)
    recurred = fields.Boolean(required=True)
    inspector = Id(required=True)
    note = Text(2000, load_default=None, allow_none=True)


class CloseRound(Schema):
    closed_on = fields.Date(required=True)


# -- events -----------------------------------------------------------------------

class ChecklistItemData(Schema):
    item = Text(100, required=True)
    max_score = fields.Float(required=True)
    weight = fields.Float(required=True)


@CATALOG.event("checklist_versioned", owner="inspections", description="""
A version of a checklist template (weighted items) was created; rounds fix the version they use.
""")
class ChecklistVersioned(Schema):
    checklist_id = Id(required=True)
    name = Text(100, required=True)
    version = fields.Integer(required=True)
    items = fields.List(fields.Nested(ChecklistItemData), required=True)


@CATALOG.event("inspection_round_opened", owner="inspections", description="""
An inspection round (党建巡诊) opened: its scope, the units it will assess, its checklist.
""")
class InspectionRoundOpened(Schema):
    round_id = Id(required=True)
    name = Text(100, required=True)
    scope_org_unit_ids = fields.List(Id(), required=True)
    unit_ids = fields.List(Id(), required=True)
    checklist_id = Id(required=True)
    checklist_version = fields.Integer(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    inspectors = fields.List(Id(), required=True)
    follows_round_id = Id(required=True, allow_none=True)


@CATALOG.event("inspection_round_closed", owner="inspections", description="A round closed; no more assessments.")
class InspectionRoundClosed(Schema):
    round_id = Id(required=True)
    closed_on = fields.Date(required=True)


@CATALOG.event("unit_assessed", owner="inspections", description="""
One unit was assessed in a round: scores per item and the weighted total (0-100).
Reports count it on `inspected_on`.
""")
class UnitAssessed(Schema):
    assessment_id = Id(required=True)
    round_id = Id(required=True)
    org_unit_id = Id(required=True)
    inspected_on = fields.Date(required=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    total = fields.Float(required=True)
    inspector = Id(required=True, allow_none=True)


class FindingData(Schema):
    finding_id = Id(required=True)
    round_id = Id(required=True)
    org_unit_id = Id(required=True)


@CATALOG.event("finding_raised", owner="inspections", description="""
A problem was found; `status` is confirmed when raised with an assessment, else draft.
""")
class FindingRaised(FindingData):
    item = Text(100, required=True)
    severity = OneOf(SEVERITIES, required=True)
    description = Text(2000, required=True)
    found_on = fields.Date(required=True)
    status = OneOf(("draft", "confirmed"), required=True)


@CATALOG.event("finding_confirmed", owner="inspections", description="A draft finding was confirmed.")
class FindingConfirmed(FindingData):
    decided_on = fields.Date(required=True)
    inspector = Id(required=True)


@CATALOG.event("finding_dismissed", owner="inspections", description="A draft finding was dismissed.")
class FindingDismissed(FindingData):
    decided_on = fields.Date(required=True)
    inspector = Id(required=True)


@CATALOG.event("rectification_planned", owner="inspections", description="""
A rectification plan (整改方案): owner, due date, plan.
""")
class RectificationPlanned(FindingData):
    owner = Text(100, required=True)
    due_on = fields.Date(required=True)
    plan = Text(5000, required=True)


@CATALOG.event("rectification_started", owner="inspections", description="Work on a rectification began.")
class RectificationStarted(FindingData):
    started_on = fields.Date(required=True)


@CATALOG.event("rectification_submitted", owner="inspections", description="Evidence of rectification submitted.")
class RectificationSubmitted(FindingData):
    submitted_on = fields.Date(required=True)
    evidence = Text(5000, required=True)


@CATALOG.event("rectification_verified", owner="inspections", description="""
An inspector verified the rectification: the finding is rectified on `verified_on`.
""")
class RectificationVerified(FindingData):
    verified_on = fields.Date(required=True)
    inspector = Id(required=True)
    note = Text(2000, required=True, allow_none=True)


@CATALOG.event("finding_reopened", owner="inspections", description="""
A finding was reopened: the verification failed, or a follow-up visit (回头看)
found the problem back.
""")
class FindingReopened(FindingData):
    reopened_on = fields.Date(required=True)
    inspector = Id(required=True)
    reason = OneOf(("verification_failed", "recurred"), required=True)
    note = Text(2000, required=True, allow_none=True)


@CATALOG.event("rectification_due_soon", owner="inspections", description="""
A rectification is due in 20 or in 10 days (each warning exactly once).
""")
class RectificationDueSoon(FindingData):
    due_on = fields.Date(required=True)
    days_left = fields.Integer(required=True)


@CATALOG.event("rectification_overdue", owner="inspections", description="""
A rectification passed its due date unverified (exactly once per due date).
""")
class RectificationOverdue(FindingData):
    due_on = fields.Date(required=True)
