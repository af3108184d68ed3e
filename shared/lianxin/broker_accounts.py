"""RabbitMQ accounts: one user per service, least privilege (deploy/rabbitmq/definitions.json).

Derived from the topology and the catalog, so a new queue or event type
changes the permissions with it (`make docs`; a test fails when the
committed file is stale). What each account may do:

  <service>  consume its own queues (topology.SUBSCRIPTIONS); publish to
             lianxin.events ONLY the event types it owns (topic permission,
             from the catalog), retry/park through lianxin.retry/lianxin.dlx;
             nameko RPC: its own `rpc-<service>` queue, replies to callers.
             It declares no Lianxin exchange or queue: the topology is the
             broker's (definitions.json, loaded at boot), and a service only
             checks it passively (topology.ensure).
  gateway    RPC caller: may send requests `<service>.<method>` to the five
             services and read its own reply queues; and, for the HTTP writes
             it queues while the broker is down (services/gateway/outage.py),
             publish to lianxin.intake the intake commands that have one HTTP
             route (its relay checks the topology passively). Nothing else.
  intake     external publishers: write to lianxin.intake, nothing else
             (no declare, no read, no other exchange).
  ops        operators: administrator tag (management UI, definitions
             import, `rabbitmqctl`-equivalent HTTP API), full rights.

Passwords. The committed definitions carry DEVELOPMENT defaults (below) as
RabbitMQ password hashes. RabbitMQ re-imports the definitions file at every
boot and an import OVERWRITES a user's password hash, so
`rabbitmqctl change_password` alone is undone by the next broker restart.
Production renders its own definitions file with real passwords:

    LIANXIN_AMQP_PASSWORD_MEMBERSHIP=... (one per account, see ACCOUNTS)
    python -m lianxin.broker_accounts render /secure/path/definitions.json

and mounts it instead (LIANXIN_RABBITMQ_DEFINITIONS in docker-compose.yml);
the services' AMQP_URI passwords come from the same variables.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass

from . import topology
from .catalog import CATALOG

VHOST = "/"
SERVICES = ("membership", "activities", "inspections", "honours", "reporting")
GATEWAY = "gateway"
INTAKE = "intake"
OPS = "ops"
ACCOUNTS = (*SERVICES, GATEWAY, INTAKE, OPS)

# nameko 2.14 (nameko/rpc.py): exchange `nameko-rpc` (topic); a service
# consumes `rpc-<service>` bound with `<service>.*`; a caller (RpcProxy)
# consumes `rpc.reply-<caller>-<uuid4>` bound with `<uuid4>`, and replies are
# published to nameko-rpc with that uuid as routing key.
RPC_EXCHANGE = "nameko-rpc"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
NOTHING = "^$"

HASHING = "rabbit_password_hashing_sha256"
PASSWORD_ENV = "LIANXIN_AMQP_PASSWORD_{}"


def dev_password(account: str) -> str:
    """The development default (docker-compose's fallback). MUST be changed in production."""
    return f"{account}-dev-password"


def password_hash(password: str, salt: bytes) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt4 + sha256(salt4 + utf8 password))."""
    if len(salt) != 4:
        raise ValueError("RabbitMQ's password hash uses a 4-byte salt")
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode("utf-8")).digest()).decode()


@dataclass(frozen=True)
class Account:
    name: str
    configure: str
    write: str
    read: str
    topic: dict            # exchange -> (write regex, read regex)
    tags: tuple = ()


def _escape(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"unexpected resource name {name!r}")
    return name.replace(".", "\\.")


def _any(names) -> str:
    """A regex matching exactly these names."""
    names = sorted(set(names))
    return "^(" + "|".join(_escape(n) for n in names) + ")$" if names else NOTHING


def owned_event_types(service: str) -> list[str]:
    return sorted({name for (name, _), et in CATALOG.events.items() if et.owner == service})


def consumed_queues(service: str) -> list[str]:
    return [sub.queue for sub in topology.SUBSCRIPTIONS if sub.service == service]


def _service(name: str) -> Account:
    rpc_queue = f"rpc-{name}"
    owned = owned_event_types(name)
    writes = [topology.RETRY_EXCHANGE, topology.DEAD_LETTER_EXCHANGE, RPC_EXCHANGE, rpc_queue]
    topic = {
        # replies only: a service cannot send RPC requests to another service
        RPC_EXCHANGE: (f"^{UUID}$", f"^{_escape(name)}\\.\\*$"),
    }
    if owned:
        writes.append(topology.EVENTS_EXCHANGE)
        topic[topology.EVENTS_EXCHANGE] = (_any(owned), NOTHING)
    return Account(
        name,
        # nameko declares (kombu: exchange.declare, queue.declare) its RPC exchange and queue
        configure=_any([RPC_EXCHANGE, rpc_queue]),
        write=_any(writes),
        read=_any([*consumed_queues(name), rpc_queue, RPC_EXCHANGE]),
        topic=topic,
    )


def queued_intake_commands() -> list[str]:
    """The intake commands the gateway may queue in a broker outage: those whose
    HTTP form is one `POST <path>` (the rule of services/gateway/outage.py)."""
    return sorted(name for name, command in CATALOG.intake.items() if re.fullmatch(r"POST /\S+", command.http.strip()))


def _gateway() -> Account:
    # Its RpcProxy declares nameko-rpc and `rpc.reply-gateway-<uuid>`, binds
    # that queue (write on it, read on nameko-rpc) and consumes it (read).
    own = f"^({_escape(RPC_EXCHANGE)}|rpc\\.reply-{GATEWAY}-{UUID})$"
    method = "[A-Za-z_][A-Za-z0-9_]*"
    return Account(
        GATEWAY, configure=own, read=own,
        write=f"^({_escape(RPC_EXCHANGE)}|rpc\\.reply-{GATEWAY}-{UUID}|{_escape(topology.INTAKE_EXCHANGE)})$",
        # requests to the five services only; binds only uuid reply keys;
        # queued HTTP writes as the intake commands they are
        topic={RPC_EXCHANGE: (f"^({'|'.join(SERVICES)})\\.{method}$", f"^{UUID}$"),
               topology.INTAKE_EXCHANGE: (_any(queued_intake_commands()), NOTHING)},
    )


def accounts() -> list[Account]:
    return [
        *(_service(s) for s in SERVICES),
        _gateway(),
        Account(INTAKE, configure=NOTHING, write=_any([topology.INTAKE_EXCHANGE]), read=NOTHING, topic={}),
        Account(OPS, configure=".*", write=".*", read=".*", topic={}, tags=("administrator",)),
    ]


def account(name: str) -> Account:
    for acc in accounts():
        if acc.name == name:
            return acc
    raise KeyError(name)


def may_declare_topology(user: str | None) -> bool:
    """False for the accounts above that are not allowed to declare Lianxin's
    exchanges and queues (they verify them passively instead)."""
    return user not in (*SERVICES, GATEWAY, INTAKE)


def definitions(passwords: dict[str, str] | None = None, vhost: str = VHOST,
                salt=lambda name: hashlib.sha256(name.encode()).digest()[:4]) -> dict:
    """users, permissions and topic_permissions of a definitions document.

    Without `passwords`, the development defaults with a fixed salt (so the
    committed file is reproducible); `salt` picks each user's 4 bytes.
    """
    users, permissions, topic_permissions = [], [], []
    for acc in accounts():
        password = (passwords or {}).get(acc.name) or dev_password(acc.name)
        users.append({"name": acc.name, "password_hash": password_hash(password, salt(acc.name)),
                      "hashing_algorithm": HASHING, "tags": list(acc.tags)})
        permissions.append({"user": acc.name, "vhost": vhost, "configure": acc.configure,
                            "write": acc.write, "read": acc.read})
        for exchange, (write, read) in sorted(acc.topic.items()):
            topic_permissions.append({"user": acc.name, "vhost": vhost, "exchange": exchange,
                                      "write": write, "read": read})
    return {"users": users, "permissions": permissions, "topic_permissions": topic_permissions}


def full_definitions(passwords: dict[str, str] | None = None, vhost: str = VHOST, **kwargs) -> dict:
    """The whole document: topology (exchanges, queues, bindings) plus accounts."""
    doc = topology.definitions(vhost)
    # nameko's RPC exchange (as nameko 2.14 declares it), so it exists from
    # boot like the rest: replies and requests never meet a missing exchange.
    doc["exchanges"].append({"name": RPC_EXCHANGE, "vhost": vhost, "type": "topic", "durable": True,
                             "auto_delete": False, "internal": False, "arguments": {}})
    doc.update(definitions(passwords, vhost, **kwargs))
    return doc


def passwords_from_env(env=None) -> dict[str, str]:
    env = os.environ if env is None else env
    found = {a: env.get(PASSWORD_ENV.format(a.upper())) for a in ACCOUNTS}
    missing = [PASSWORD_ENV.format(a.upper()) for a, p in found.items() if not p]
    if missing:
        raise SystemExit("set a password for every broker account: " + ", ".join(missing))
    weak = [a for a, p in found.items() if p == dev_password(a) or len(p) < 16]
    if weak:
        raise SystemExit("development or short (< 16 characters) passwords for: " + ", ".join(weak))
    return found


def main(argv: list[str]) -> None:
    """render PATH: a production definitions file, passwords from the environment, random salts."""
    if len(argv) != 2 or argv[0] != "render":
        raise SystemExit("usage: python -m lianxin.broker_accounts render PATH")
    doc = full_definitions(passwords_from_env(), salt=lambda _name: os.urandom(4))
    fd = os.open(argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {argv[1]} (mode 600: it holds password hashes)")


if __name__ == "__main__":
    main(sys.argv[1:])
