"""One Lianxin service in its own process for the bench: `python -m bench.service NAME`.

Starts the service's nameko container on the embedded store (as `make run`
does, one process per service), prints {"ready": true} once it consumes, and
stops when its stdin closes."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from eventlet.hubs import trampoline  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.service")
    p.add_argument("name", help="a service under services/, e.g. activities")
    p.add_argument("--uri", required=True)
    p.add_argument("--prefix", required=True, help="DB_PREFIX: names its database")
    args = p.parse_args(argv)

    from nameko.containers import ServiceContainer

    module = importlib.import_module(f"services.{args.name}.service")
    cls = next(v for v in vars(module).values() if isinstance(v, type) and getattr(v, "name", None) == args.name)
    container = ServiceContainer(cls, {"AMQP_URI": args.uri, "DB_PREFIX": args.prefix, "max_workers": 10,
                                       "serializer": "json"})
    with eventlet.Timeout(60):
        container.start()
    cpu0 = time.process_time()
    print(json.dumps({"ready": True}), flush=True)
    trampoline(sys.stdin.fileno(), read=True)
    sys.stdin.read()
    cpu = time.process_time() - cpu0
    print(json.dumps({"done": True, "cpu_s": round(cpu, 3),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}),
          flush=True)
    with eventlet.Timeout(30, False):
        container.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
