"""Activities' published language: meetings and lectures, obligations,
appraisals, small deeds and cases."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..fields import Id, OneOf, Text
from . import CATALOG

# 三会一课 and the rest; `lecture` sessions belong to a named series.
ACTIVITY_KINDS = ("theme_day", "members_meeting", "committee_meeting", "group_meeting", "party_lesson",
                  "org_life_meeting", "member_appraisal", "lecture", "political_birthday", "other")
# Roles of lecture speakers, as the source article counts them.
SPEAKER_ROLES = ("department_head", "zone_secretary", "community_secretary", "party_secretary",
                 "residents_committee_director", "member", "guest")
SECRETARY_ROLES = ("zone_secretary", "community_secretary", "party_secretary")
DIRECTOR_ROLES = ("residents_committee_director",)
FREQUENCIES = ("monthly", "quarterly", "yearly")
GRADES = ("excellent", "qualified", "basically_qualified", "unqualified")   # 优秀/合格/基本合格/不合格
CASE_KINDS = ("difficult_matter", "dispute")          # 实事难事 / 矛盾纠纷
TEAMS = ("party_member", "youth", "women")            # 党员突击队 / 青年突击队 / 巾帼服务队
DEED_DECISIONS = ("verified", "disputed")


class Absentee(Schema):
    member_id = Id(required=True)
    reason = Text(200, required=True)


class Speaker(Schema):
    member_id = Id(load_default=None, allow_none=True)
    name = Text(50, required=True)
    role = OneOf(SPEAKER_ROLES, required=True)


# -- commands -------------------------------------------------------------------

class ScheduleActivity(Schema):
    id = Id()
    kind = OneOf(ACTIVITY_KINDS, required=True)
    series = Text(50, load_default=None, allow_none=True)
    title = Text(200, required=True)
    org_unit_id = Id(required=True)
    scheduled_for = fields.Date(required=True)

    @validates_schema(skip_on_field_errors=False)
    def _series(self, data, **_):
        if data.get("kind") == "lecture" and not data.get("series"):
            raise ValidationError("a lecture belongs to a series (e.g. 小城论剑)", "series")


class RecordActivity(Schema):
    held_on = fields.Date(required=True)
    attendee_ids = fields.List(Id(), required=True, validate=validate.Length(max=5000))
    absentees = fields.List(fields.Nested(Absentee), load_default=list)
    speakers = fields.List(fields.Nested(Speaker), load_default=list)
    minutes = Text(20000, load_default=None, allow_none=True)


@CATALOG.intake_command(
    "activity_held", owner="activities", http="POST /api/v1/activities + POST /api/v1/activities/{id}/record",
    description="An activity another system recorded as held: scheduled and recorded in one.",
)
class HoldActivity(ScheduleActivity, RecordActivity):
    scheduled_for = fields.Date(load_default=None, allow_none=True)


class CancelActivity(Schema):
    cancelled_on = fields.Date(required=True)
    reason = Text(500, required=True)


class SetObligation(Schema):
    kind = OneOf(ACTIVITY_KINDS, required=True)
    frequency = OneOf(FREQUENCIES, required=True, allow_none=True,
                      metadata={"description": "null: no obligation for this kind here"})
    org_unit_id = Id(load_default=None, allow_none=True,
                     metadata={"description": "unset: the default for every organisation"})


class GradeMember(Schema):
    member_id = Id(required=True)
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=1921, max=2100))
    grade = OneOf(GRADES, required=True)


@CATALOG.intake_command(
    "deed_recorded", owner="activities", http="POST /api/v1/deeds",
    description="A small deed a member did for the masses (为群众办小事实事).",
)
class RecordDeed(Schema):
    id = Id()
    member_id = Id(required=True)
    household_id = Id(load_default=None, allow_none=True)
    done_on = fields.Date(required=True)
    category = Text(50, required=True)
    description = Text(2000, required=True)
    recorded_by = Id(load_default=None, allow_none=True,
                     metadata={"description": "who recorded it (谁记录谁证明); default: the member"})


class DecideDeed(Schema):
    decision = OneOf(DEED_DECISIONS, required=True)
    decided_on = fields.Date(required=True)
    note = Text(500, load_default=None, allow_none=True)


@CATALOG.intake_command(
    "case_opened", owner="activities", http="POST /api/v1/cases",
    description="A difficult matter (实事难事) or a dispute (矛盾纠纷) taken on.",
)
class OpenCase(Schema):
    id = Id()
    kind = OneOf(CASE_KINDS, required=True)
    org_unit_id = Id(required=True)
    opened_on = fields.Date(required=True)
    summary = Text(2000, required=True)
    owner = Text(100, load_default=None, allow_none=True)
    team = OneOf(TEAMS, load_default=None, allow_none=True)
    campaign = Text(100, load_default=None, allow_none=True,
                    metadata={"description": "e.g. 小城冲锋号, 法律门诊"})


class StartCase(Schema):
    started_on = fields.Date(required=True)
    owner = Text(100, load_default=None, allow_none=True)


@CATALOG.intake_command(
    "case_resolved", owner="activities", http="POST /api/v1/cases/{id}/resolution",
    description="A case resolved (a matter solved, a dispute mediated).",
)
class ResolveCase(Schema):
    case_id = Id(required=True, metadata={"description": "intake only; HTTP takes it from the path"})
    resolved_on = fields.Date(required=True)
    outcome = Text(2000, required=True)


class CloseCase(Schema):
    closed_on = fields.Date(required=True)
    reason = Text(500, required=True)


# -- events -----------------------------------------------------------------------

@CATALOG.event("activity_scheduled", owner="activities", description="""
An activity was scheduled; lecture sessions are numbered within their series.
""")
class ActivityScheduled(Schema):
    activity_id = Id(required=True)
    kind = OneOf(ACTIVITY_KINDS, required=True)
    series = Text(50, required=True, allow_none=True)
    session_no = fields.Integer(required=True, allow_none=True)
    title = Text(200, required=True)
    org_unit_id = Id(required=True)
    scheduled_for = fields.Date(required=True)


@CATALOG.event("activity_held", owner="activities", description="""
An activity was held: who attended, who was absent and why, who spoke in which
role. Reports count it on `held_on`.
""")
class ActivityHeld(Schema):
    activity_id = Id(required=True)
    kind = OneOf(ACTIVITY_KINDS, required=True)
    series = Text(50, required=True, allow_none=True)
    session_no = fields.Integer(required=True, allow_none=True)
    title = Text(200, required=True)
    org_unit_id = Id(required=True)
    held_on = fields.Date(required=True)
    attendee_ids = fields.List(Id(), required=True)
    # The same shapes as the command's: an event carries what was recorded.
    absentees = fields.List(fields.Nested(Absentee), required=True)
    speakers = fields.List(fields.Nested(Speaker), required=True)
    expected = fields.Integer(required=True, allow_none=True,
                              metadata={"description": "members' meeting: voting members of the branch"})


@CATALOG.event("activity_cancelled", owner="activities", description="A scheduled activity was cancelled.")
class ActivityCancelled(Schema):
    activity_id = Id(required=True)
    kind = OneOf(ACTIVITY_KINDS, required=True)
    org_unit_id = Id(required=True)
    cancelled_on = fields.Date(required=True)
    reason = Text(500, required=True)


@CATALOG.event("obligation_rule_set", owner="activities", description="""
How often an activity kind is due (for one organisation, or the default for all).
""")
class ObligationRuleSet(Schema):
    kind = OneOf(ACTIVITY_KINDS, required=True)
    frequency = OneOf(FREQUENCIES, required=True, allow_none=True)
    org_unit_id = Id(required=True, allow_none=True)


@CATALOG.event("obligation_missed", owner="activities", description="""
A period closed without the activity its organisation owed (三会一课 compliance).
""")
class ObligationMissed(Schema):
    org_unit_id = Id(required=True)
    kind = OneOf(ACTIVITY_KINDS, required=True)
    period = fields.String(required=True, metadata={"description": "2018-06, 2018-Q2 or 2018"})
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)


@CATALOG.event("member_appraised", owner="activities", description="""
A member's yearly democratic appraisal grade (民主评议党员).
""")
class MemberAppraised(Schema):
    member_id = Id(required=True)
    org_unit_id = Id(required=True)
    year = fields.Integer(required=True)
    grade = OneOf(GRADES, required=True)


@CATALOG.event("deed_recorded", owner="activities", description="""
A member's small deed for the masses, with who recorded it and its points.
Reports count it on `done_on`.
""")
class DeedRecorded(Schema):
    deed_id = Id(required=True)
    member_id = Id(required=True)
    household_id = Id(required=True, allow_none=True)
    org_unit_id = Id(required=True)
    done_on = fields.Date(required=True)
    category = Text(50, required=True)
    description = Text(2000, required=True)
    recorded_by = Id(required=True)
    points = fields.Integer(required=True)


@CATALOG.event("deed_verified", owner="activities", description="The community verified a deed.")
class DeedVerified(Schema):
    deed_id = Id(required=True)
    member_id = Id(required=True)
    org_unit_id = Id(required=True)
    decided_on = fields.Date(required=True)
    note = Text(500, required=True, allow_none=True)


@CATALOG.event("deed_disputed", owner="activities", description="""
The community disputed a deed: it no longer counts, and its points are withdrawn.
""")
class DeedDisputed(Schema):
    deed_id = Id(required=True)
    member_id = Id(required=True)
    org_unit_id = Id(required=True)
    decided_on = fields.Date(required=True)
    note = Text(500, required=True, allow_none=True)


class CaseData(Schema):
    case_id = Id(required=True)
    kind = OneOf(CASE_KINDS, required=True)
    org_unit_id = Id(required=True)


@CATALOG.event("case_opened", owner="activities", description="A difficult matter or a dispute was taken on.")
class CaseOpened(CaseData):
    opened_on = fields.Date(required=True)
    summary = Text(2000, required=True)
    owner = Text(100, required=True, allow_none=True)
    team = OneOf(TEAMS, required=True, allow_none=True)
    campaign = Text(100, required=True, allow_none=True)


@CATALOG.event("case_started", owner="activities", description="Work on a case began.")
class CaseStarted(CaseData):
    started_on = fields.Date(required=True)
    owner = Text(100, required=True, allow_none=True)


@CATALOG.event("case_resolved", owner="activities", description="""
A case was resolved: a difficult matter solved, a dispute mediated. Reports
count it on `resolved_on`.
""")
class CaseResolved(CaseData):
    resolved_on = fields.Date(required=True)
    outcome = Text(2000, required=True)


@CATALOG.event("case_closed", owner="activities", description="A case was closed without a resolution.")
class CaseClosed(CaseData):
    closed_on = fields.Date(required=True)
    reason = Text(500, required=True)
