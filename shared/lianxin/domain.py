"""What every service's pure domain code shares: the event a rule records, and
the small date checks whose failures name the field they are about."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .errors import InvalidInput


@dataclass(frozen=True)
class DomainEvent:
    """A fact a domain function records; handlers turn it into an envelope."""
    type: str
    data: dict
    org_unit_id: str | None


def not_future(errors: dict, name: str, day: date, today: date) -> None:
    if day > today:
        errors.setdefault(name, []).append("is in the future")


def raise_if(errors: dict, detail: str) -> None:
    """Raise InvalidInput naming every field collected in `errors`, if any."""
    if errors:
        raise InvalidInput(detail, errors)
