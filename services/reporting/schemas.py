"""Reporting's schemas at the edges: report queries."""
from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from lianxin.fields import Id


class SummaryQuery(Schema):
    # Unset: the top of the tree (when there is exactly one top unit).
    org_unit_id = Id(load_default=None)
    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)

    @pre_load
    def _blank_is_unset(self, data, **_):
        # Query strings say "not given" as an empty value (?org_unit_id=).
        return {k: v for k, v in data.items() if v not in ("", None)}

    @validates_schema
    def _order(self, data, **_):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("must not be after 'to'", "from")

    @post_load
    def _defaults(self, data, **_):
        # Default period: the calendar year up to `to` (default today).
        from lianxin.clock import today
        data["to"] = data.get("to") or today()
        data["from_"] = data.get("from_") or date(data["to"].year, 1, 1)
        return data


class AsOfQuery(SummaryQuery):
    """A report "as of" a past day: from the events that had occurred by its end."""
    as_of = fields.Date(load_default=None, metadata={
        "description": "the report as it stood at the end of this day (events that had occurred by then)"})

    @validates_schema
    def _as_of_past(self, data, **_):
        from lianxin.clock import today
        if data.get("as_of") and data["as_of"] > today():
            raise ValidationError("must not be in the future", "as_of")


class ReportQuery(AsOfQuery):
    by = fields.String(load_default=None, validate=validate.OneOf(("community", "week", "member", "household")),
                       metadata={"description": "deeds only: how rows are grouped (default community)"})
    week = fields.String(load_default=None, validate=validate.Regexp(r"^\d{4}-W\d{2}$"),
                         metadata={"description": "deeds only: one ISO week (2018-W23) instead of from/to"})
    round_id = Id(load_default=None, metadata={"description": "inspections only: one round"})

    @pre_load
    def _week_is_the_period(self, data, **_):
        if data.get("week") not in (None, ""):
            if data.get("from") or data.get("to"):
                raise ValidationError("give either week or from/to", "week")
            from .reports import week_bounds
            from lianxin.errors import InvalidInput
            try:
                monday, sunday = week_bounds(data["week"])
            except InvalidInput:
                raise ValidationError("must look like 2018-W23 (ISO week)", "week")
            data = {**data, "from": monday.isoformat(), "to": sunday.isoformat()}
        return data


class SnapshotsQuery(Schema):
    org_unit_id = Id(load_default=None)
    granularity = fields.String(load_default=None, validate=validate.OneOf(("month", "quarter", "year")))
    year = fields.Integer(load_default=None, validate=validate.Range(min=1900, max=2200))
    full = fields.Boolean(load_default=False, metadata={"description": "include each snapshot's summary"})

    @pre_load
    def _blank_is_unset(self, data, **_):
        return {k: v for k, v in data.items() if v not in ("", None)}


class PublishSnapshot(Schema):
    org_unit_id = Id(load_default=None, metadata={"description": "default: the top of the tree"})
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}(-\d{2}|-Q[1-4])?$"),
                           metadata={"description": "a closed month (2018-06), quarter (2018-Q2) or year (2018)"})


class EventsQuery(Schema):
    """The event store, by type, org unit (and its subtree) and time occurred."""
    event_type = fields.List(fields.String(), load_default=None,
                             metadata={"description": "one or more types (repeat the parameter or comma-separate)"})
    org_unit_id = Id(load_default=None)
    subtree = fields.Boolean(load_default=True, metadata={"description": "include the units under org_unit_id"})
    since = fields.AwareDateTime(load_default=None, metadata={"description": "occurred at or after (ISO 8601 with offset)"})
    until = fields.AwareDateTime(load_default=None, metadata={"description": "occurred at or before"})
    after = Id(load_default=None, metadata={"description": "continue after this event id (the previous page's last)"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))

    @pre_load
    def _shape(self, data, **_):
        data = {k: v for k, v in data.items() if v not in ("", None)}
        if isinstance(data.get("event_type"), str):
            data["event_type"] = [t.strip() for t in data["event_type"].split(",") if t.strip()]
        return data

    @validates_schema
    def _known_types(self, data, **_):
        from lianxin.catalog import CATALOG
        unknown = sorted(set(data.get("event_type") or ()) - set(CATALOG.event_types()))
        if unknown:
            raise ValidationError(f"unknown event types: {', '.join(unknown)}", "event_type")
