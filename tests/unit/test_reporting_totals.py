"""The running deed totals give the figures a walk over the deeds gives, for
any unit set and period, through redeliveries, re-dated deeds and disputes
(also a dispute that arrives before its deed)."""
import random
from datetime import date, timedelta

import pytest

from lianxin.catalog import CATALOG
from lianxin.envelope import Event
from services.reporting.domain import ReportModel

UNITS = ("ca", "cb", "cc")


def event(event_type, data):
    return Event({"event_id": f"{event_type}-{data['deed_id']}-{random.random()}", "event_type": event_type,
                  "schema_version": 1, "occurred_at": "2018-06-01T09:00:00+08:00", "source": "activities",
                  "org_unit_id": data.get("org_unit_id")}, data)


def recorded(deed_id, unit, member, day, points):
    return event("deed_recorded", {"deed_id": deed_id, "member_id": member, "household_id": None,
                                   "org_unit_id": unit, "done_on": day, "category": "帮办", "description": "x",
                                   "recorded_by": member, "points": points})


def walked(model, units, start, end):
    deeds = model.deeds_between(list(units), start, end)
    return {"total": len(deeds), "members_with_deeds": len({d.member_id for d in deeds}),
            "points": sum(d.points for d in deeds)}


def unit_of(rng, member_index: int, movers: float) -> str:
    """A member's unit: always the same one, except for a share of movers."""
    return rng.choice(UNITS) if rng.random() < movers else UNITS[member_index % len(UNITS)]


@pytest.mark.parametrize("members, deeds, movers", [
    (12, 600, 1.0),         # every member in every unit: all counted by id
    (300, 3000, 0.03),      # members who stay in their unit (counted by bitmap), a few who move
])
def test_totals_equal_a_walk_over_the_deeds(members, deeds, movers):
    rng = random.Random(8)
    model = ReportModel()
    start = date(2018, 1, 1)
    events = []
    for i in range(deeds):
        deed_id = f"d{rng.randrange(deeds * 2 // 3)}"      # repeats: redeliveries and re-dated deeds
        if rng.random() < 0.1:
            events.append(event("deed_disputed", {"deed_id": deed_id, "reason": "x"}))
        else:
            m = rng.randrange(members)
            events.append(recorded(deed_id, unit_of(rng, m, movers), f"m{m}",
                                   start + timedelta(days=rng.randrange(90)), rng.randrange(1, 4)))
    for e in events:
        model.apply([e])
    assert model.deed_totals.figures(UNITS, start, start + timedelta(days=89))["total"] > 100
    for _ in range(300):
        units = rng.sample(UNITS, rng.randrange(1, 4))
        a = start + timedelta(days=rng.randrange(-5, 95))
        b = a + timedelta(days=rng.randrange(0, 40))
        assert model.deed_totals.figures(units, a, b) == walked(model, units, a, b)


def test_the_summary_reads_its_deed_figures_from_the_totals():
    model = ReportModel()
    assert CATALOG.events[("deed_recorded", 1)]
    model.apply([recorded("d1", "ca", "m1", date(2018, 6, 1), 2), recorded("d2", "ca", "m1", date(2018, 6, 2), 1),
                 recorded("d3", "cb", "m2", date(2018, 7, 1), 1)])
    model.apply([event("deed_disputed", {"deed_id": "d2", "reason": "x"})])
    assert model._deed_figures(["ca", "cb"], date(2018, 6, 1), date(2018, 6, 30)) == {
        "total": 1, "members_with_deeds": 1, "points": 2}
