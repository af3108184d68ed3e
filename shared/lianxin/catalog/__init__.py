"""The one catalog of Lianxin: `CATALOG` holds every event type and intake command."""
from .registry import Catalog, IntakeCommand, EventType, InvalidEvent, flatten_errors, jsonable  # noqa: F401

CATALOG = Catalog()

# Each module registers its owner's events and intake commands on import.
from . import activities, honours, inspections, membership, reporting  # noqa: E402,F401
