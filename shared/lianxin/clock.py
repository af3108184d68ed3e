"""Business time (Asia/Shanghai). Injected where rules depend on "today"."""
from __future__ import annotations

from datetime import date, datetime

from .envelope import BUSINESS_TZ


def today() -> date:
    return datetime.now(BUSINESS_TZ).date()
