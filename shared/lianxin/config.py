"""Settings from the environment (API.md: configuration by environment).

nameko services read the same names through deploy/config.yml; this module
serves code that runs outside a container (scripts, bench, tests).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"

# RabbitMQ queue type of the topology (lianxin.topology): auto = quorum when
# the broker supports what the topology needs of it, else classic.
QUEUE_TYPES = ("auto", "quorum", "classic")


def queue_type(value) -> str:
    """QUEUE_TYPE, checked: unset or empty means auto."""
    text = str(value).strip().lower() if value not in (None, "", "None") else "auto"
    if text not in QUEUE_TYPES:
        raise ValueError(f"QUEUE_TYPE must be one of {', '.join(QUEUE_TYPES)}, not {value!r}")
    return text


@dataclass(frozen=True)
class Settings:
    amqp_uri: str = DEFAULT_AMQP_URI
    mongo_uri: str | None = None
    gateway_port: int = 8000
    metrics_port: int | None = None
    admin_token: str | None = None
    max_body_bytes: int = 1_048_576
    queue_type: str = "auto"
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env=None) -> "Settings":
        env = os.environ if env is None else env
        metrics = env.get("METRICS_PORT")
        return cls(
            amqp_uri=env.get("AMQP_URI") or DEFAULT_AMQP_URI,
            mongo_uri=env.get("MONGO_URI") or None,
            gateway_port=int(env.get("GATEWAY_PORT") or 8000),
            metrics_port=int(metrics) if metrics else None,
            admin_token=env.get("LIANXIN_ADMIN_TOKEN") or None,
            max_body_bytes=int(env.get("LIANXIN_MAX_BODY_BYTES") or 1_048_576),
            queue_type=queue_type(env.get("QUEUE_TYPE")),
        )


def from_nameko_config(config: dict) -> Settings:
    """Settings from a nameko container config (deploy/config.yml)."""
    metrics = config.get("METRICS_PORT")
    return Settings(
        amqp_uri=config.get("AMQP_URI") or DEFAULT_AMQP_URI,
        mongo_uri=config.get("MONGO_URI") or None,
        gateway_port=int(config.get("GATEWAY_PORT") or 8000),
        metrics_port=int(metrics) if metrics not in (None, "", "None") else None,
        admin_token=config.get("LIANXIN_ADMIN_TOKEN") or None,
        max_body_bytes=int(config.get("MAX_BODY_BYTES") or 1_048_576),
        # a config without it (tests, scripts) follows the environment, as AMQP_SSL does
        queue_type=queue_type(config.get("QUEUE_TYPE") or os.environ.get("QUEUE_TYPE")),
        extra=dict(config),
    )


def api_token(env=None) -> str | None:
    """The API key a script or client sends: LIANXIN_TOKEN (any key), else the
    bootstrap admin token LIANXIN_ADMIN_TOKEN (a fresh install's only key)."""
    env = os.environ if env is None else env
    return env.get("LIANXIN_TOKEN") or env.get("LIANXIN_ADMIN_TOKEN") or None


def auth_headers(env=None) -> dict:
    """`Authorization: Bearer <token>` for api_token(), or nothing when none is set."""
    token = api_token(env)
    return {"Authorization": f"Bearer {token}"} if token else {}
