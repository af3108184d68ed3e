"""Generate the committed artefacts that derive from code:

  docs/events.md                    the event catalog (every type, version, field)
  deploy/rabbitmq/definitions.json  the broker topology, users and permissions
                                    (lianxin.topology + lianxin.broker_accounts)

`make docs` writes them; tests/unit/test_generated_docs.py fails when either
is stale, so the published contract cannot drift from the code.
"""
from __future__ import annotations

import json
from pathlib import Path

from marshmallow import fields

from lianxin import broker_accounts, topology
from lianxin.catalog import CATALOG

ROOT = Path(__file__).resolve().parent.parent
EVENTS_MD = ROOT / "docs" / "events.md"
DEFINITIONS = ROOT / "deploy" / "rabbitmq" / "definitions.json"

# The broker accounts (one per service, gateway, intake, ops) carry their
# DEVELOPMENT default passwords here (broker_accounts.dev_password), as
# RabbitMQ password hashes with a fixed salt so the file is reproducible.
# Production must not use them: RabbitMQ re-imports this file at every boot
# and the import overwrites password hashes, so `rabbitmqctl change_password`
# alone does not last. Render a production file with real passwords instead
# (`python -m lianxin.broker_accounts render PATH`, see that module) and
# mount it (LIANXIN_RABBITMQ_DEFINITIONS in docker-compose.yml).


def _field_type(field: fields.Field) -> str:
    names = {fields.String: "string", fields.Integer: "integer", fields.Date: "date (YYYY-MM-DD)",
             fields.DateTime: "time (ISO-8601, offset)", fields.Boolean: "boolean", fields.Dict: "object",
             fields.List: "list", fields.Float: "number", fields.Number: "number"}
    for cls, name in names.items():
        if isinstance(field, cls):
            choices = getattr(getattr(field, "validate", None), "choices", None)
            for v in field.validators:
                choices = getattr(v, "choices", None) or choices
            return f"{name}: {' / '.join(map(str, choices))}" if choices else name
    return type(field).__name__


def _field_rows(schema_cls) -> list[str]:
    rows = []
    for name, field in schema_cls().fields.items():
        key = field.data_key or name
        required = "yes" if field.required else "no"
        nullable = ", may be null" if field.allow_none else ""
        rows.append(f"| `{key}` | {_field_type(field)}{nullable} | {required} |")
    return rows


def events_markdown() -> str:
    lines = [
        "# Event catalog",
        "",
        "Generated from `shared/lianxin/catalog/` by `make docs`; do not edit by hand",
        "(a test fails when this file is stale).",
        "",
        "Every event travels in the envelope of DESIGN.md (`event_id`, `event_type`,",
        "`schema_version`, `occurred_at`, `source`, `org_unit_id`, `correlation_id`, `data`).",
        "Domain events are published to the topic exchange `lianxin.events` with the event",
        "type as routing key. Consumers ignore data fields they do not know, so a new",
        "version may add fields; removing or changing one needs a new `schema_version`.",
        "",
        "## Domain events",
        "",
    ]
    for (name, version), et in sorted(CATALOG.events.items()):
        lines += [f"### `{name}` v{version}", "", f"Owner: **{et.owner}**. {et.description}", "",
                  "| field | type | required |", "|---|---|---|", *_field_rows(et.schema), ""]
    lines += [
        "## Intake commands",
        "",
        "Other systems publish these envelopes to the topic exchange `lianxin.intake` with the",
        "event type as routing key. `data` carries the fields of the matching HTTP body; the",
        "envelope's `event_id` is the client `id` when `data` has none. Each is validated,",
        "applied once, or rejected with a reason (`GET /api/v1/rejections`, queue",
        "`<service>.intake.dead`). An unknown type is rejected through `intake.unrouted`.",
        "",
    ]
    for name, cmd in sorted(CATALOG.intake.items()):
        lines += [f"### `{name}` (intake)", "", f"Owner: **{cmd.owner}**; same body as `{cmd.http}`. "
                  f"{cmd.description}", "", "| field | type | required |", "|---|---|---|",
                  *_field_rows(cmd.schema), ""]
    lines += ["## Queues", "", "| queue | exchange | routing keys | consumer |", "|---|---|---|---|"]
    for sub in topology.SUBSCRIPTIONS:
        keys = ", ".join(f"`{k}`" for k in sub.routing_keys) or "(fanout)"
        lines.append(f"| `{sub.queue}` | `{sub.exchange}` | {keys} | {sub.service} |")
    lines += ["", f"Each queue has `<queue>.dead` (parked, with `x-lianxin-reason`) and retry tiers "
              f"`<queue>.retry.<N>s` for N in {', '.join(map(str, topology.RETRY_DELAYS))}. They are quorum "
              f"queues where the broker supports them (RabbitMQ >= "
              f"{'.'.join(map(str, topology.QUORUM_SINCE))}; `QUEUE_TYPE` = auto, quorum or classic): "
              f"a message delivered {topology.DELIVERY_LIMIT} times without being settled is parked in "
              f"`<queue>.dead` with its reason.", ""]
    return "\n".join(lines)


def definitions() -> dict:
    """Topology plus accounts with their development passwords (see above)."""
    return broker_accounts.full_definitions()


def definitions_json() -> str:
    return json.dumps(definitions(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    EVENTS_MD.parent.mkdir(exist_ok=True)
    EVENTS_MD.write_text(events_markdown(), encoding="utf-8")
    DEFINITIONS.parent.mkdir(parents=True, exist_ok=True)
    DEFINITIONS.write_text(definitions_json(), encoding="utf-8")
    print(f"wrote {EVENTS_MD.relative_to(ROOT)} and {DEFINITIONS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
