"""`make run`: every Lianxin service as its own process, then the demo.

Embedded defaults: no MONGO_URI means each service keeps its data in memory
(said at start, gone at exit). RabbitMQ comes from AMQP_URI. Ctrl-C (or
SIGTERM) stops everything.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from lianxin.config import auth_headers

from scripts import demo

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {  # name -> (service class, metrics port)
    "membership": ("MembershipService", 9101),
    "activities": ("ActivitiesService", 9103),
    "inspections": ("InspectionsService", 9104),
    "honours": ("HonoursService", 9105),
    "reporting": ("ReportingService", 9102),
    "gateway": ("GatewayService", 9100),
}
READY_TIMEOUT = 120


def start(name: str, metrics_port: int | None, log_dir: Path, env: dict | None = None) -> subprocess.Popen:
    """One service in its own process; metrics_port None means the default of SERVICES."""
    service_class, default_port = SERVICES[name]
    metrics_port = default_port if metrics_port is None else metrics_port
    env = dict(env or os.environ, METRICS_PORT=str(metrics_port), PYTHONWARNINGS="ignore::DeprecationWarning")
    log = open(log_dir / f"{name}.log", "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "nameko", "run", "--config", str(ROOT / "deploy" / "config.yml"),
         f"services.{name}.service:{service_class}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(base: str, procs: dict, log_dir: Path | None = None) -> None:
    log_dir = log_dir or LOG_DIR
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with {proc.returncode}; see {log_dir / (name + '.log')}")
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"not ready after {READY_TIMEOUT}s; see the logs in {log_dir}")


def stop(procs: dict) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


LOG_DIR = ROOT / "run-logs"


def _on_term(*_):
    """First SIGTERM (or Ctrl-C) stops everything; repeats (make forwards
    one too) must not interrupt the stopping."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    LOG_DIR.mkdir(exist_ok=True)
    # A fresh development install: a bootstrap admin token for this run, unless one is set.
    if not os.environ.get("LIANXIN_ADMIN_TOKEN"):
        os.environ["LIANXIN_ADMIN_TOKEN"] = f"dev-{secrets.token_urlsafe(24)}"
    port = int(os.environ.get("GATEWAY_PORT") or 8000)
    base = f"http://127.0.0.1:{port}"
    store = os.environ.get("MONGO_URI") or "the embedded in-memory store (data ends when this stops)"
    print(f"== starting {', '.join(SERVICES)} (store: {store}; logs in {LOG_DIR}/)")
    procs = {name: start(name, None, LOG_DIR) for name in SERVICES}
    signal.signal(signal.SIGTERM, _on_term)
    try:
        wait_ready(base, procs)
        print(f"== ready at {base}; seeding the Wanggezhuang demo")
        counts = demo.seed(base)
        print(f"== demo seeded: {counts}")
        summary = wait_for_summary(base, counts["members"])
        print(json.dumps({k: summary[k] for k in ("org_unit_id", "from", "to", "members")}, ensure_ascii=False))
        keys = demo_keys(base)
        print(f"\nLianxin is running at {base}")
        print(f"  summary:  {base}/api/v1/reports/summary?org_unit_id={demo.STREET}&from=2018-01-01&to=2018-12-31")
        print(f"  API docs: {base}/api/v1/openapi.json")
        print(f"  dashboard: {base}/dashboard#token={keys['inspector']}")
        print("             (the key in the address is the inspector's: it reads everything, masked;"
              " a viewer's key draws the reports but not the household chart)")
        print("API keys of this run (send 'Authorization: Bearer <token>'; docs/security.md):")
        print(f"  admin (bootstrap, LIANXIN_ADMIN_TOKEN): {os.environ['LIANXIN_ADMIN_TOKEN']}")
        for role, token in keys.items():
            print(f"  {role:<40} {token}")
        print(f"  e.g. curl -H 'Authorization: Bearer {os.environ['LIANXIN_ADMIN_TOKEN']}' "
              f"'{base}/api/v1/reports/summary?org_unit_id={demo.STREET}'")
        print("  metrics:  " + ", ".join(f"http://127.0.0.1:{port}/metrics ({name})"
                                         for name, (_, port) in SERVICES.items()))
        print("Ctrl-C stops it.")
        while True:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited with {proc.returncode}; see {LOG_DIR / (name + '.log')}")
            time.sleep(1)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("\n== stopping")
    finally:
        stop(procs)


DEMO_KEYS = (("viewer", "viewer", None, "区委组织部 (reports, masked)"),
             ("secretary of wgz-z1-c1", "secretary", "wgz-z1-c1", "community secretary (one community)"),
             ("inspector", "inspector", demo.STREET, "巡诊组 (inspections)"))


def demo_keys(base: str) -> dict:
    """Keys for trying the roles out: a viewer, a community secretary, an inspector."""
    keys = {}
    for label, role, scope, name in DEMO_KEYS:
        body = {"name": f"demo: {name}", "role": role, **({"scope_unit_id": scope} if scope else {})}
        response = requests.post(f"{base}/api/v1/api-keys", json=body, headers=auth_headers(), timeout=10)
        response.raise_for_status()
        keys[label] = response.json()["token"]
    return keys


def wait_for(check, timeout: float = 60, interval: float = 0.5):
    """Poll `check` until it returns something truthy (or give up: None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    return None


def wait_for_summary(base: str, members: int, timeout: float = 60) -> dict:
    """Reports are eventually consistent: wait until the demo is counted."""
    deadline = time.monotonic() + timeout
    summary = {}
    while time.monotonic() < deadline:
        response = requests.get(f"{base}/api/v1/reports/summary", headers=auth_headers(),
                                params={"org_unit_id": demo.STREET, "from": "1900-01-01", "to": "2100-12-31"},
                                timeout=5)
        if response.status_code == 200:
            summary = response.json()
            if summary["members"]["total"] == members:
                break
        time.sleep(0.5)
    return summary


if __name__ == "__main__":
    main()
