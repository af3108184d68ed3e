"""Activities' schemas at the edges: the HTTP bodies and queries it accepts.

The commands are the catalog's published language (intake uses them too)."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, pre_load, validates

from lianxin.catalog.activities import (  # noqa: F401
    CancelActivity, CloseCase, DecideDeed, GradeMember, HoldActivity, OpenCase, RecordActivity, RecordDeed,
    ResolveCase, ScheduleActivity, SetObligation, StartCase,
)
from lianxin.fields import Id


class ResolutionBody(ResolveCase):
    """Over HTTP the case comes from the path."""
    class Meta:
        exclude = ("case_id",)


class PeriodQuery(Schema):
    org_unit_id = Id(required=True)
    from_ = fields.Date(data_key="from", required=True)
    to = fields.Date(required=True)

    @pre_load
    def _blank_is_unset(self, data, **_):
        return {k: v for k, v in data.items() if v not in ("", None)}


class WeekQuery(Schema):
    week = fields.String(required=True, metadata={"description": "ISO week, e.g. 2018-W24"})

    @validates("week")
    def _week(self, value, **_):
        if not re.fullmatch(r"\d{4}-W(0[1-9]|[1-4]\d|5[0-3])", value):
            raise ValidationError("must be an ISO week like 2018-W24")


class YearQuery(Schema):
    year = fields.Integer(required=True, validate=lambda y: 1921 <= y <= 2100)


COMMANDS: dict[str, Schema] = {
    "schedule_activity": ScheduleActivity(), "record_activity": RecordActivity(),
    "cancel_activity": CancelActivity(), "set_obligation": SetObligation(), "grade_member": GradeMember(),
    "record_deed": RecordDeed(), "decide_deed": DecideDeed(), "open_case": OpenCase(),
    "start_case": StartCase(), "resolve_case": ResolutionBody(), "close_case": CloseCase(),
}
QUERIES: dict[str, Schema] = {"period": PeriodQuery(), "week": WeekQuery(), "year": YearQuery()}
