"""The reports of a system as the gateway serves them, for comparing two runs."""
from __future__ import annotations

from services.reporting.reports import REPORTS

# Fields that say when or how fresh, not what: they differ between two runs of the same events.
VOLATILE = {"generated_at", "freshness", "as_of_event", "lag", "computed_at"}


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def report_bodies(system, unit: str = "wgz", start: str = "2017-01-01", end: str = "2026-12-31") -> dict:
    """The summary and every named report of `unit` over [start, end]."""
    out = {"summary": _strip(system.summary(unit, start, end))}
    for name in sorted(REPORTS):
        response = system.get(f"/reports/{name}", org_unit_id=unit, **{"from": start, "to": end})
        out[name] = _strip(response.json()) if response.status_code == 200 else response.status_code
    return out
