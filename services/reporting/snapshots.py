"""Snapshots of closed periods (the downstream feed): which periods have
closed, and what changed in earlier snapshots since they were published.
Pure: the store keeps them, the model gives the figures.

A snapshot is the summary of one org unit for one calendar month, quarter or
year, taken once the period has closed. It never changes. When events arrive
late for a period already published, the next snapshot published for the same
unit carries a correction note for each earlier snapshot whose figures are no
longer what they were last said to be: the figure, what it was, what it is now.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from lianxin.obligations import periods_between

from .exports import summary_figures

GRANULARITIES = {"month": "monthly", "quarter": "quarterly", "year": "yearly"}


@dataclass(frozen=True)
class ClosedPeriod:
    granularity: str
    label: str
    start: date
    end: date

    def snapshot_id(self, unit_id: str) -> str:
        return f"{unit_id}:{self.label}"


LABEL = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$")


def period_named(label: str) -> ClosedPeriod:
    """'2018-06', '2018-Q2' or '2018' -> the period; ValueError otherwise."""
    if not isinstance(label, str) or not LABEL.match(label):
        raise ValueError(label)
    if "-Q" in label:
        year, quarter = label.split("-Q")
        granularity, day = "quarter", date(int(year), 3 * (int(quarter) - 1) + 1, 1)
        if not 1 <= int(quarter) <= 4:
            raise ValueError(label)
    elif "-" in label:
        year, month = label.split("-")
        granularity, day = "month", date(int(year), int(month), 1)
        if len(month) != 2:
            raise ValueError(label)
    else:
        granularity, day = "year", date(int(label), 1, 1)
    period = periods_between(day, day, GRANULARITIES[granularity])[0]
    if period.label != label:
        raise ValueError(label)
    return ClosedPeriod(granularity, period.label, period.start, period.end)


def closed_between(since: date, today: date) -> list[ClosedPeriod]:
    """Every month, quarter and year that ended on or after `since` and before
    `today`, in the order they closed (a year after its December and Q4)."""
    out = []
    last = today - timedelta(days=1)
    if since > last:
        return out
    for granularity, frequency in GRANULARITIES.items():
        for p in periods_between(since, last, frequency):
            if since <= p.end <= last:
                out.append(ClosedPeriod(granularity, p.label, p.start, p.end))
    order = {"month": 0, "quarter": 1, "year": 2}
    return sorted(out, key=lambda p: (p.end, order[p.granularity]))


def figures(summary: dict) -> dict:
    """The summary's figures by their stable key (as in summary.csv)."""
    return {key: value for section, key, value in summary_figures(summary) if section != "report"}


def corrections(published: list[dict], now_of) -> list[dict]:
    """Notes for earlier snapshots whose figures changed since last said.

    published: the unit's snapshots in publication order, each with
    "_id", "period", "summary" and "corrections" (the notes it carried);
    now_of(snapshot) -> the summary for its period as the model has it now.
    What a snapshot "last said" is its own figures, updated by every later
    note about it, so a late event is noted once, in the next snapshot."""
    said: dict[str, dict] = {}
    for snap in published:
        said[snap["_id"]] = figures(snap["summary"])
        for note in snap.get("corrections", ()):
            if note["snapshot_id"] in said:
                said[note["snapshot_id"]].update({k: v["now"] for k, v in note["changes"].items()})
    notes = []
    for snap in published:
        now = figures(now_of(snap))
        before = said[snap["_id"]]
        changes = {k: {"was": before.get(k), "now": v} for k, v in now.items() if before.get(k) != v}
        changes.update({k: {"was": v, "now": None} for k, v in before.items() if k not in now})
        if changes:
            notes.append({"snapshot_id": snap["_id"], "period": snap["period"], "changes": changes})
    return notes
