"""Every service in its own process, as `make run` deploys them (scripts/run.py),
on a throwaway vhost and the embedded store: for the end-to-end tests."""
from __future__ import annotations

import os
from contextlib import contextmanager

from scripts import run
from tests.support.broker import Vhost
from tests.support.system import free_port


@contextmanager
def deployed(logs):
    """Yield (gateway base URL, AMQP URI) once every service is ready; stop them after."""
    with Vhost() as vhost:
        port = free_port()
        env = dict(os.environ, AMQP_URI=vhost.uri, GATEWAY_PORT=str(port))
        env.pop("MONGO_URI", None)
        procs = {name: run.start(name, 0, logs, env) for name in run.SERVICES}
        try:
            base = f"http://127.0.0.1:{port}"
            run.wait_ready(base, procs, logs)
            yield base, vhost.uri
        finally:
            run.stop(procs)
