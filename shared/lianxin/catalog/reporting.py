"""Reporting's published language: the downstream feed of closed periods."""
from __future__ import annotations

from marshmallow import Schema, fields

from ..fields import Id, OneOf
from . import CATALOG

GRANULARITIES = ("month", "quarter", "year")


@CATALOG.event("report_published", owner="reporting", description="""
A closed period's summary (API.md's summary, for one org unit subtree), stored as
a snapshot that never changes. Events that arrive late for a period already
published show up in the next snapshot published for the same unit, under
`corrections` (which earlier snapshot, which figure, what it said, what it is now).
""")
class ReportPublished(Schema):
    snapshot_id = Id(required=True, metadata={"description": "<org unit>:<period>, e.g. wgz:2018-06"})
    org_unit_id = Id(required=True)
    granularity = OneOf(GRANULARITIES, required=True)
    period = fields.String(required=True, metadata={"description": "2018-06, 2018-Q2 or 2018"})
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    published_on = fields.Date(required=True)
    summary = fields.Dict(required=True, metadata={"description": "GET /reports/summary for the unit and period"})
    corrections = fields.List(fields.Dict(), required=True, metadata={
        "description": "[{snapshot_id, period, changes: {figure: {was, now}}}] for earlier snapshots"})
