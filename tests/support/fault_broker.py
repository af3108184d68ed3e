"""A throwaway RabbitMQ node of its own, for faults that stop the broker.

`rabbitmqctl stop_app` on the shared broker would break every other test
and every other run on the machine (a fresh-clone check, `make run`), so
the fault suite starts a second node (its own name, ports and data under a
temporary directory), stops and starts *that* one, and halts it after.
Starting one takes 2-5 s. It needs rabbitmq-server on this machine; where
there is none (a remote AMQP_URI) the tests that need it are skipped with
that reason.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from tests.support.system import free_port


def available() -> str | None:
    """None if a node can be started here, else why not."""
    if shutil.which("rabbitmq-server") is None or shutil.which("rabbitmqctl") is None:
        return "rabbitmq-server is not installed on this machine"
    return None


class FaultBroker:
    """One RabbitMQ node on 127.0.0.1:<port>; `stop_app`/`start_app` take it down and up."""

    def __init__(self):
        self.name = f"lxfault{uuid.uuid4().hex[:6]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.dir = tempfile.mkdtemp(prefix="lianxin-fault-broker-")
        self.uri = f"amqp://guest:guest@127.0.0.1:{self.port}/"

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> "FaultBroker":
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as f:
            f.write(f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
                    "loopback_users = none\n"
                    # quick to notice a dead client; the broker's own default is 60 s
                    "heartbeat = 10\n")
        with open(os.path.join(self.dir, "enabled_plugins"), "w") as f:
            f.write("[].\n")        # no management plugin: its port would clash with the main node's
        self._own_dir_as_broker_user()
        env = dict(os.environ,
                   RABBITMQ_NODENAME=self.name, RABBITMQ_NODE_PORT=str(self.port),
                   RABBITMQ_DIST_PORT=str(self.dist_port),
                   RABBITMQ_CONFIG_FILE=os.path.join(self.dir, "rabbitmq"),
                   RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(self.dir, "enabled_plugins"),
                   RABBITMQ_MNESIA_BASE=os.path.join(self.dir, "mnesia"),
                   RABBITMQ_LOG_BASE=os.path.join(self.dir, "log"),
                   RABBITMQ_PID_FILE=os.path.join(self.dir, "pid"))
        subprocess.run(["rabbitmq-server", "-detached"], env=env, check=True, capture_output=True, timeout=60)
        self.wait_up(timeout=90)
        return self

    def _own_dir_as_broker_user(self) -> None:
        # As root, rabbitmq-server switches to the `rabbitmq` user, which must own its files.
        if os.geteuid() != 0:
            return
        try:
            user = pwd.getpwnam("rabbitmq")
        except KeyError:
            return
        for root, dirs, files in os.walk(self.dir):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.chown(name, user.pw_uid, user.pw_gid)

    def halt(self) -> None:
        """Stop the node; if it does not answer, kill it (a node left behind
        would take CPU from every later run on this machine)."""
        try:
            self.ctl("stop", timeout=30)
        except Exception:  # noqa: BLE001 - eventlet's green subprocess has its own TimeoutExpired
            try:
                with open(os.path.join(self.dir, "pid")) as f:
                    os.kill(int(f.read().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        # the node's log outlives it, for a failure to be explained
        keep = Path(__file__).resolve().parents[2] / "test-output" / "fault-broker" / self.name
        shutil.copytree(os.path.join(self.dir, "log"), keep, dirs_exist_ok=True, ignore_dangling_symlinks=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- faults --------------------------------------------------------------
    def ctl(self, *args: str, timeout: float = 60) -> str:
        return subprocess.run(["rabbitmqctl", "-q", "-n", self.name, *args], check=True, capture_output=True,
                              text=True, timeout=timeout).stdout

    def stop_app(self) -> None:
        """The node stays, the broker inside it stops: every connection drops,
        nothing can connect (what `rabbitmqctl stop_app` does in production)."""
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.wait_up()

    def close_connections(self, reason: str = "fault: force-closed") -> None:
        self.ctl("close_all_connections", "--global", reason)

    def is_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def wait_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_up():
            if time.monotonic() > deadline:
                raise TimeoutError(f"fault broker {self.name} not listening on {self.port} after {timeout}s")
            time.sleep(0.1)
        # listening comes a moment before the vhost is ready to take connections
        self.ctl("await_startup", "--timeout", str(int(timeout)))

    @contextmanager
    def vhost(self):
        """A fresh vhost (its own topology, no leftovers of an earlier test), deleted
        after: its AMQP URI. Deleted because every vhost holds 54 quorum queues,
        each with open segment files, and a node started here gets the `rabbitmq`
        user's 1,024 file handles: a dozen vhosts left behind exhaust them and the
        node stops answering (connections and rabbitmqctl time out)."""
        name = f"faults-{uuid.uuid4().hex[:8]}"
        self.ctl("add_vhost", name)
        self.ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        try:
            yield f"amqp://guest:guest@127.0.0.1:{self.port}/{name}"
        finally:
            try:
                if not self.is_up():
                    self.start_app()
                self.ctl("delete_vhost", name)
            except Exception:  # noqa: BLE001 - cleaning up; the node is halted at the end anyway
                pass

    def queue_depths(self, uri: str | None = None) -> dict[str, int]:
        vhost = uri.rsplit("/", 1)[1] if uri else "/"
        out = self.ctl("list_queues", "-p", vhost or "/", "name", "messages", "--no-table-headers")
        return {p[0]: int(p[1]) for p in (line.split() for line in out.splitlines()) if len(p) == 2}


@contextmanager
def fault_broker():
    broker = FaultBroker()
    try:
        yield broker.start()
    finally:
        broker.halt()
