"""Membership's published language: org units and members."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates, validates_schema

from ..fields import Id, OneOf, Text
from ..personal_data import id_number_problem, mobile_problem
from . import CATALOG

ADMIN_LEVELS = ("district", "street", "zone", "community", "grid")
GENDERS = ("male", "female")
STAGES = ("applicant", "activist", "candidate", "probationary", "full")
ADMITTED_STAGES = ("probationary", "full")


# -- commands (HTTP bodies; the intake ones also arrive on lianxin.intake) --

class CreateOrgUnit(Schema):
    id = Id()
    name = Text(100, required=True)
    level = OneOf(ADMIN_LEVELS, required=True)
    parent_id = Id(load_default=None, allow_none=True)


@CATALOG.intake_command(
    "member_registered", owner="membership", http="POST /api/v1/members",
    description="Register a member (from the national member system or a grid app).",
)
class RegisterMember(Schema):
    id = Id()
    name = Text(50, required=True)
    gender = OneOf(GENDERS, required=True)
    birth_date = fields.Date(required=True)
    org_unit_id = Id(required=True)
    stage = OneOf(STAGES, required=True)
    stage_since = fields.Date(load_default=None, allow_none=True)
    admitted_on = fields.Date(load_default=None, allow_none=True)
    id_number = fields.String(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)

    @validates("id_number")
    def _id_number(self, value, **_):
        if value is not None and (problem := id_number_problem(value)):
            raise ValidationError(problem)

    @validates("phone")
    def _phone(self, value, **_):
        if value is not None and (problem := mobile_problem(value)):
            raise ValidationError(problem)

    @validates_schema(skip_on_field_errors=False)
    def _admission(self, data, **_):
        if data.get("stage") in ADMITTED_STAGES and not data.get("admitted_on"):
            raise ValidationError(
                "required from probationary on: the admission date (入党日期)", "admitted_on"
            )


# -- events ---------------------------------------------------------------

@CATALOG.event("org_unit_created", owner="membership", description="""
An administrative unit (district, street, zone, community or grid) was created.
""")
class OrgUnitCreated(Schema):
    org_unit_id = Id(required=True)
    name = Text(100, required=True)
    level = OneOf(ADMIN_LEVELS, required=True)
    parent_id = Id(required=True, allow_none=True)


@CATALOG.event("member_registered", owner="membership", description="""
A member was registered at a stage. Reports count the member from `admitted_on`,
or from `stage_since` for those not yet admitted. ID number and phone are never
carried in events.
""")
class MemberRegistered(Schema):
    member_id = Id(required=True)
    name = Text(50, required=True)
    gender = OneOf(GENDERS, required=True)
    birth_date = fields.Date(required=True)
    org_unit_id = Id(required=True)
    stage = OneOf(STAGES, required=True)
    stage_since = fields.Date(required=True)
    admitted_on = fields.Date(required=True, allow_none=True)
