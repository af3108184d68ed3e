"""Compliance at the ends of the calendar. Found by the HTTP fuzz test:
GET /api/v1/obligations?org_unit_id=wgz&from=2018-01-01&to=9999-12-31 and
GET /api/v1/reports/compliance?...&to=9999-12-31 were 500s (the period after
December 9999 does not exist), and a far `to` listed every period up to it."""
from datetime import date

from lianxin.obligations import horizon, period_of, periods_between
from services.activities import handlers
from tests.unit.test_activities_handlers import new_store
from tests.unit.test_activities_rules import world

TODAY = date(2018, 6, 30)


def test_periods_reach_the_last_day_of_the_calendar():
    assert period_of(date.max, "monthly").end == date.max
    assert period_of(date(9999, 11, 3), "quarterly").end == date.max
    assert period_of(date(2016, 2, 10), "monthly").end == date(2016, 2, 29)
    assert periods_between(date(9999, 11, 1), date.max, "monthly")[-1].label == "9999-12"
    assert [p.label for p in periods_between(date(2018, 11, 5), date(2019, 1, 2), "quarterly")] == \
        ["2018-Q4", "2019-Q1"]


def test_compliance_is_worked_out_to_the_end_of_next_year_at_most():
    store = new_store(None)
    store.apply_membership_events(world())
    body = handlers.compliance(store, "wgz", date(1, 1, 1), date.max, TODAY, settle=lambda ready: None)["body"]
    assert body["to"] == horizon(TODAY).isoformat() == "2019-12-31"
    assert max(row["period_end"] for row in body["obligations"]) == "2019-12-31"
    assert len(body["obligations"]) < 100
