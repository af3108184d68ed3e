"""Honours' published language: categories, nominations through public notice
to award, and honours from higher bodies."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..fields import Id, OneOf, Text
from . import CATALOG

NOMINEE_KINDS = ("collective", "individual")
DECISIONS = ("approve", "publicize", "award", "reject", "revoke")


# -- commands -------------------------------------------------------------------

class CreateCategory(Schema):
    id = Id()
    name = Text(100, required=True)
    nominee_kind = OneOf(NOMINEE_KINDS, required=True)
    awarding_body = Text(100, required=True)
    yearly_quota = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1))
    notice_days = fields.Integer(load_default=5, strict=True, validate=validate.Range(min=0, max=60),
                                 metadata={"description": "public notice (公示) length in working days"})
    exclude_overdue_rectification = fields.Boolean(
        load_default=False, metadata={"description": "refuse nominees whose unit has an overdue rectification"})


class Nominate(Schema):
    id = Id()
    category_id = Id(required=True)
    nominee_id = Id(required=True, metadata={"description": "a member (individual) or an org unit (collective)"})
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=1921, max=2100))
    nominated_on = fields.Date(load_default=None, allow_none=True,
                               metadata={"description": "default: today (or 31 December of a past year)"})
    reason = Text(2000, load_default=None, allow_none=True)


class Decide(Schema):
    decision = OneOf(DECISIONS, required=True)
    decided_on = fields.Date(required=True)
    note = Text(2000, load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=True)
    def _reason(self, data, **_):
        if data["decision"] in ("reject", "revoke") and not data.get("note"):
            raise ValidationError("a rejection or revocation gives its reason", "note")


class RaiseObjection(Schema):
    raised_on = fields.Date(required=True)
    by = Text(100, required=True)
    content = Text(2000, required=True)


@CATALOG.intake_command(
    "honour_awarded", owner="honours", http="(intake only)",
    description="An honour a higher body awarded (e.g. 上合组织青岛峰会服务保障工作先进集体 by 青岛市委、市政府).",
)
class RecordExternalHonour(Schema):
    id = Id()
    title = Text(100, required=True)
    nominee_kind = OneOf(NOMINEE_KINDS, required=True)
    nominee_id = Id(required=True)
    awarding_body = Text(100, required=True)
    awarded_on = fields.Date(required=True)


# -- events -----------------------------------------------------------------------

@CATALOG.event("honour_category_created", owner="honours", description="An honour category was set up.")
class HonourCategoryCreated(Schema):
    category_id = Id(required=True)
    name = Text(100, required=True)
    nominee_kind = OneOf(NOMINEE_KINDS, required=True)
    awarding_body = Text(100, required=True)
    yearly_quota = fields.Integer(required=True, allow_none=True)


class NominationData(Schema):
    nomination_id = Id(required=True)
    category_id = Id(required=True)
    nominee_id = Id(required=True)
    org_unit_id = Id(required=True)
    year = fields.Integer(required=True)


@CATALOG.event("nomination_submitted", owner="honours", description="Someone or some unit was nominated.")
class NominationSubmitted(NominationData):
    nominee_kind = OneOf(NOMINEE_KINDS, required=True)
    reason = Text(2000, required=True, allow_none=True)


@CATALOG.event("nomination_approved", owner="honours", description="A nomination passed review.")
class NominationApproved(NominationData):
    decided_on = fields.Date(required=True)


@CATALOG.event("nomination_publicized", owner="honours", description="""
Public notice (公示) of a nomination began; it runs to `notice_ends_on`.
""")
class NominationPublicized(NominationData):
    decided_on = fields.Date(required=True)
    notice_ends_on = fields.Date(required=True)


@CATALOG.event("objection_raised", owner="honours", description="An objection during public notice.")
class ObjectionRaised(NominationData):
    raised_on = fields.Date(required=True)
    by = Text(100, required=True)
    content = Text(2000, required=True)


@CATALOG.event("nomination_rejected", owner="honours", description="A nomination was rejected, with the reason.")
class NominationRejected(NominationData):
    decided_on = fields.Date(required=True)
    note = Text(2000, required=True)


@CATALOG.event("honour_awarded", owner="honours", description="""
An honour was awarded (after public notice, or by a higher body). Reports count
it on `awarded_on`, in the unit it names.
""")
class HonourAwarded(Schema):
    honour_id = Id(required=True)
    category_id = Id(required=True)
    category_name = Text(100, required=True)
    nominee_kind = OneOf(NOMINEE_KINDS, required=True)
    nominee_id = Id(required=True)
    org_unit_id = Id(required=True)
    year = fields.Integer(required=True)
    awarded_on = fields.Date(required=True)
    awarding_body = Text(100, required=True)
    # Added later (additive): events stored before it read as the street's own.
    external = fields.Boolean(load_default=False, metadata={
        "description": "true for an honour a higher body awarded (recorded by intake, not nominated here)"})


@CATALOG.event("honour_revoked", owner="honours", description="An honour was revoked, with the reason.")
class HonourRevoked(Schema):
    honour_id = Id(required=True)
    category_id = Id(required=True)
    nominee_id = Id(required=True)
    org_unit_id = Id(required=True)
    revoked_on = fields.Date(required=True)
    reason = Text(2000, required=True)
