"""Membership's published language: the two trees, members, transfers, household links."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from ..fields import Id, OneOf, Text
from ..personal_data import id_number_problem, mobile_problem
from . import CATALOG

ADMIN_LEVELS = ("district", "street", "zone", "community", "grid")
PARTY_ORG_KINDS = ("working_committee", "committee", "general_branch", "branch", "group")
GENDERS = ("male", "female")
STAGES = ("applicant", "activist", "candidate", "probationary", "full")
ADMITTED_STAGES = ("probationary", "full")
# active and flowing (流动党员) members are members; the others have left.
STATUSES = ("active", "flowing", "transferred_out", "deceased", "expelled", "probation_cancelled")
LEFT_STATUSES = ("transferred_out", "deceased", "expelled", "probation_cancelled")


# -- commands (HTTP bodies; the intake ones also arrive on lianxin.intake) --

class CreateOrgUnit(Schema):
    id = Id()
    name = Text(100, required=True)
    level = OneOf(ADMIN_LEVELS, required=True)
    parent_id = Id(load_default=None, allow_none=True)


class MoveOrgUnit(Schema):
    parent_id = Id(required=True)
    moved_on = fields.Date(required=True)


class RenameOrgUnit(Schema):
    name = Text(100, required=True)
    renamed_on = fields.Date(required=True)


class CreatePartyOrg(Schema):
    id = Id()
    name = Text(100, required=True)
    kind = OneOf(PARTY_ORG_KINDS, required=True)
    parent_id = Id(load_default=None, allow_none=True)
    org_unit_id = Id(required=True)


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
    branch_id = Id(load_default=None, allow_none=True)
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


@CATALOG.intake_command(
    "member_stage_changed", owner="membership", http="POST /api/v1/members/{id}/stage-changes",
    description="Move a member to the next stage of the recruitment pipeline.",
)
class ChangeStage(Schema):
    member_id = Id(required=True, metadata={"description": "intake only; HTTP takes it from the path"})
    stage = OneOf(STAGES, required=True)
    effective_on = fields.Date(required=True)


class ExtendProbation(Schema):
    months = fields.Integer(required=True, strict=True, validate=validate.Range(min=6, max=12))
    decided_on = fields.Date(required=True)


class ChangeStatus(Schema):
    status = OneOf(STATUSES, required=True)
    effective_on = fields.Date(required=True)
    reason = Text(500, required=True)


class IssueTransfer(Schema):
    id = Id()
    to_org_unit_id = Id(required=True)
    to_branch_id = Id(load_default=None, allow_none=True)
    issued_on = fields.Date(required=True)
    valid_days = fields.Integer(load_default=90, strict=True, validate=validate.Range(min=1, max=92))


class ReceiveTransfer(Schema):
    received_on = fields.Date(required=True)


@CATALOG.intake_command(
    "household_linked", owner="membership", http="POST /api/v1/household-links",
    description="A member takes on looking after a household (党员联户).",
)
class LinkHousehold(Schema):
    id = Id()
    member_id = Id(required=True)
    household_id = Id(required=True)
    address = Text(200, load_default=None, allow_none=True)
    linked_on = fields.Date(load_default=None, allow_none=True)


class UnlinkHousehold(Schema):
    unlinked_on = fields.Date(required=True)
    reason = Text(500, load_default=None, allow_none=True)


# -- events ---------------------------------------------------------------

@CATALOG.event("org_unit_created", owner="membership", description="""
An administrative unit (district, street, zone, community or grid) was created.
""")
class OrgUnitCreated(Schema):
    org_unit_id = Id(required=True)
    name = Text(100, required=True)
    level = OneOf(ADMIN_LEVELS, required=True)
    parent_id = Id(required=True, allow_none=True)


@CATALOG.event("org_unit_moved", owner="membership", description="""
An administrative unit (with everything under it) moved to another parent.
""")
class OrgUnitMoved(Schema):
    org_unit_id = Id(required=True)
    from_parent_id = Id(required=True, allow_none=True)
    to_parent_id = Id(required=True)
    moved_on = fields.Date(required=True)


@CATALOG.event("org_unit_renamed", owner="membership", description="""
An administrative unit was renamed; the old name stays in its history.
""")
class OrgUnitRenamed(Schema):
    org_unit_id = Id(required=True)
    old_name = Text(100, required=True)
    name = Text(100, required=True)
    renamed_on = fields.Date(required=True)


@CATALOG.event("org_unit_deleted", owner="membership", description="""
An administrative unit with no members and no children was deleted. Its history
(members who were there before) still counts in its parent's reports.
""")
class OrgUnitDeleted(Schema):
    org_unit_id = Id(required=True)
    deleted_on = fields.Date(required=True)


@CATALOG.event("party_org_created", owner="membership", description="""
A Party organisation (working committee, committee, general branch, branch or
group) was set up, attached to an administrative unit.
""")
class PartyOrgCreated(Schema):
    party_org_id = Id(required=True)
    name = Text(100, required=True)
    kind = OneOf(PARTY_ORG_KINDS, required=True)
    parent_id = Id(required=True, allow_none=True)
    org_unit_id = Id(required=True)


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
    branch_id = Id(load_default=None, allow_none=True)
    stage = OneOf(STAGES, required=True)
    stage_since = fields.Date(required=True)
    admitted_on = fields.Date(required=True, allow_none=True)


@CATALOG.event("member_stage_changed", owner="membership", description="""
A member moved to the next stage; becoming probationary sets `admitted_on`
(the political birthday).
""")
class MemberStageChanged(Schema):
    member_id = Id(required=True)
    org_unit_id = Id(required=True)
    from_stage = OneOf(STAGES, required=True)
    stage = OneOf(STAGES, required=True)
    effective_on = fields.Date(required=True)
    admitted_on = fields.Date(required=True, allow_none=True)


@CATALOG.event("member_probation_extended", owner="membership", description="""
A probationary member's probation was extended (once, by 6 to 12 months).
""")
class MemberProbationExtended(Schema):
    member_id = Id(required=True)
    org_unit_id = Id(required=True)
    months = fields.Integer(required=True)
    decided_on = fields.Date(required=True)
    probation_ends_on = fields.Date(required=True)


@CATALOG.event("member_status_changed", owner="membership", description="""
A member's status changed (active, flowing, or one of the ways of leaving:
transferred_out, deceased, expelled, probation_cancelled). A member who leaves
stops counting from `effective_on`.
""")
class MemberStatusChanged(Schema):
    member_id = Id(required=True)
    org_unit_id = Id(required=True)
    from_status = OneOf(STATUSES, required=True)
    status = OneOf(STATUSES, required=True)
    effective_on = fields.Date(required=True)
    reason = Text(500, required=True)


@CATALOG.event("member_transfer_issued", owner="membership", description="""
A transfer letter (组织关系介绍信) was issued; the member stays in the old unit
until it is received.
""")
class MemberTransferIssued(Schema):
    transfer_id = Id(required=True)
    member_id = Id(required=True)
    from_org_unit_id = Id(required=True)
    to_org_unit_id = Id(required=True)
    from_branch_id = Id(required=True, allow_none=True)
    to_branch_id = Id(required=True, allow_none=True)
    issued_on = fields.Date(required=True)
    valid_until = fields.Date(required=True)


@CATALOG.event("member_transfer_completed", owner="membership", description="""
The receiving unit received the letter: the member belongs there from `received_on`.
""")
class MemberTransferCompleted(Schema):
    transfer_id = Id(required=True)
    member_id = Id(required=True)
    from_org_unit_id = Id(required=True)
    to_org_unit_id = Id(required=True)
    to_branch_id = Id(required=True, allow_none=True)
    received_on = fields.Date(required=True)


@CATALOG.event("member_transfer_expired", owner="membership", description="""
A transfer letter passed its validity unreceived; the member stays where they were.
""")
class MemberTransferExpired(Schema):
    transfer_id = Id(required=True)
    member_id = Id(required=True)
    from_org_unit_id = Id(required=True)
    to_org_unit_id = Id(required=True)
    valid_until = fields.Date(required=True)


@CATALOG.event("household_linked", owner="membership", description="""
A member took on a household (党员联户). A household has one linked member at a time.
""")
class HouseholdLinked(Schema):
    link_id = Id(required=True)
    member_id = Id(required=True)
    household_id = Id(required=True)
    org_unit_id = Id(required=True)
    address = Text(200, required=True, allow_none=True)
    linked_on = fields.Date(required=True)


@CATALOG.event("household_unlinked", owner="membership", description="""
A household link ended (the member left, moved, or another member took over).
""")
class HouseholdUnlinked(Schema):
    link_id = Id(required=True)
    member_id = Id(required=True)
    household_id = Id(required=True)
    org_unit_id = Id(required=True)
    unlinked_on = fields.Date(required=True)
    reason = Text(500, required=True, allow_none=True)


@CATALOG.event("political_birthday_due", owner="membership", description="""
A member's political birthday (the anniversary of admission) falls within the
next 7 days; emitted once per member per year.
""")
class PoliticalBirthdayDue(Schema):
    member_id = Id(required=True)
    org_unit_id = Id(required=True)
    admitted_on = fields.Date(required=True)
    anniversary_on = fields.Date(required=True)
    years = fields.Integer(required=True)
