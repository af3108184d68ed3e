"""Throwaway RabbitMQ vhosts, so every test gets an empty, isolated topology."""
from __future__ import annotations

import os
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit

from lianxin.config import DEFAULT_AMQP_URI


def _ctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def base_uri() -> str:
    return os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI


def uri_for(vhost: str) -> str:
    parts = urlsplit(base_uri())
    return urlunsplit((parts.scheme, parts.netloc, "/" + vhost, "", ""))


class Vhost:
    def __init__(self, prefix: str = "lianxin-test"):
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.user = urlsplit(base_uri()).username or "guest"

    def __enter__(self) -> "Vhost":
        _ctl("add_vhost", self.name)
        _ctl("set_permissions", "-p", self.name, self.user, ".*", ".*", ".*")
        return self

    def __exit__(self, *exc) -> None:
        try:
            _ctl("delete_vhost", self.name)
        except subprocess.SubprocessError:
            pass

    @property
    def uri(self) -> str:
        return uri_for(self.name)

    def close_connections(self, reason: str = "test: force-closed") -> None:
        _ctl("close_all_connections", "-p", self.name, reason)

    def queue_depths(self) -> dict[str, int]:
        out = _ctl("list_queues", "-p", self.name, "name", "messages", "--no-table-headers")
        depths = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2:
                depths[parts[0]] = int(parts[1])
        return depths
