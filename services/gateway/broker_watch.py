"""The gateway's view of the broker: up or down, kept current by a green thread.

One long-lived AMQP connection, checked every `interval` seconds by a round
trip that needs no permission on any resource (basic.qos on its channel): cheap
while the broker is up (no connection churn in the broker's log), and it
notices a stopped broker (the broker closes the connection, or the socket
fails) within about a second. While down it tries to connect again at every
tick. A publish that fails for want of a connection marks the state down at
once too (GatewayService._send), and the next good check marks it up.
"""
from __future__ import annotations

import logging

import eventlet
from nameko.extensions import DependencyProvider

from lianxin import broker_ssl
from lianxin.config import from_nameko_config

from .outage import BrokerState

log = logging.getLogger("lianxin.gateway.broker")


class BrokerWatch(DependencyProvider):
    interval = 1.0
    timeout = 2.0

    def setup(self):
        self.state = BrokerState()
        self._running = False
        self._conn = None
        self._channel = None
        self._thread = None

    def start(self):
        self._running = True
        self._thread = self.container.spawn_managed_thread(self._run, identifier="broker_watch")

    def stop(self):
        self._running = False
        if self._thread is not None:
            self._thread.kill()
        self._close()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return self.state

    # -- the check ------------------------------------------------------------------
    def _run(self):
        while self._running:
            self.check()
            eventlet.sleep(self.interval)

    def check(self) -> bool:
        try:
            with eventlet.Timeout(self.timeout):
                if self._channel is None:
                    uri = from_nameko_config(self.container.config).amqp_uri
                    conn = broker_ssl.connection(uri, config=self.container.config, connect_timeout=self.timeout,
                                                 heartbeat=0)
                    self._conn = conn
                    conn.connect()
                    self._channel = conn.channel()
                self._channel.basic_qos(0, 0, False)
        except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - any failure is "down"
            self._close()
            if self.state.mark_down(f"{type(exc).__name__}: {exc}"):
                log.warning("broker unreachable (%s): intake writes are queued in the gateway's outbox, "
                            "other writes get 503", self.state.reason)
            return False
        if self.state.mark_up():
            log.warning("broker reachable again: writes are forwarded; queued ones are being published")
        return True

    def _close(self):
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:  # noqa: BLE001 - a dead connection may fail to close
                pass
