"""Throwaway RabbitMQ vhosts, so every test gets an empty, isolated topology."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

from lianxin import broker_accounts
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


class Accounts:
    """The generated broker definitions (topology + accounts, as
    deploy/rabbitmq/definitions.json has them) imported into `vhost` with
    `rabbitmqctl import_definitions`, as the broker does at boot. Users get a
    unique prefix (the broker is shared); deleted again on exit."""

    def __init__(self, vhost: Vhost):
        self.vhost = vhost
        self.prefix = f"{vhost.name}-"
        self.passwords = {a: f"test-{uuid.uuid4().hex}" for a in broker_accounts.ACCOUNTS}

    def user(self, account: str) -> str:
        return self.prefix + account

    def __enter__(self) -> "Accounts":
        doc = broker_accounts.full_definitions(self.passwords, vhost=self.vhost.name)
        for key in ("users", "permissions", "topic_permissions"):
            for entry in doc[key]:
                field = "name" if key == "users" else "user"
                entry[field] = self.user(entry[field])
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(doc, f)
        os.chmod(f.name, 0o644)  # the broker node (another OS user) reads it
        try:
            _ctl("import_definitions", f.name)
            # The import runs asynchronously, bindings last: wait for all of them
            # (each queue also has its default-exchange binding).
            expected = len(doc["bindings"]) + len(doc["queues"])
            deadline = time.monotonic() + 30
            while self.binding_count() < expected:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"definitions import into {self.vhost.name} did not finish")
                time.sleep(0.2)
        finally:
            os.unlink(f.name)
        return self

    def binding_count(self) -> int:
        out = _ctl("list_bindings", "-p", self.vhost.name, "source_name", "--no-table-headers")
        return len(out.splitlines())

    def __exit__(self, *exc) -> None:
        # one rabbitmqctl process per user, in parallel (each takes 1-2 s)
        procs = [subprocess.Popen(["rabbitmqctl", "-q", "delete_user", self.user(a)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for a in broker_accounts.ACCOUNTS]
        for p in procs:
            p.wait(timeout=60)

    def uri(self, account: str) -> str:
        parts = urlsplit(base_uri())
        host = parts.hostname or "localhost"
        netloc = f"{quote(self.user(account), safe='')}:{quote(self.passwords[account], safe='')}@{host}"
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, "/" + self.vhost.name, "", ""))
