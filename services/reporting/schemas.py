"""Reporting's schemas at the edges: report queries."""
from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validates_schema

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
