"""Concurrent report clients in their own process, as the gateway is:
`python -m bench.clients`. Each of `--clients` greenthreads holds its own
nameko RPC proxy and asks for summaries back to back for `--seconds`, each of
a random unit and period (bench/at_scale.py); prints one JSON line with the
latency of every request in ms."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.clients")
    p.add_argument("--uri", required=True)
    p.add_argument("--units", required=True, help="comma-separated org unit ids to ask about")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--rate", type=float, default=0.0,
                   help="requests per second per client, paced (0: back to back, each waits for its answer)")
    args = p.parse_args(argv)

    from nameko.standalone.rpc import ClusterRpcProxy

    from bench.at_scale import random_period

    config = {"AMQP_URI": args.uri, "serializer": "json"}
    units = args.units.split(",")
    latencies, errors = [], []
    ready = []
    start_at = []

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with ClusterRpcProxy(config) as rpc:
            rpc.reporting.freshness()       # connected and warm before the clock starts
            ready.append(seed)
            while not start_at:
                eventlet.sleep(0.01)
            deadline = start_at[0] + args.seconds
            # Paced clients start spread over one interval, as independent users would.
            due = start_at[0] + (rng.random() / args.rate if args.rate else 0.0)
            while time.monotonic() < deadline:
                if args.rate:
                    eventlet.sleep(max(0.0, due - time.monotonic()))
                    due += 1.0 / args.rate
                start, end = random_period(rng)
                query = {"org_unit_id": rng.choice(units), "from": start.isoformat(), "to": end.isoformat()}
                t = time.perf_counter()
                reply = rpc.reporting.summary(query)
                latencies.append((time.perf_counter() - t) * 1e3)
                if reply.get("status") != 200:
                    errors.append(str(reply)[:200])

    pool = [eventlet.spawn(client, i) for i in range(args.clients)]
    while len(ready) < args.clients:
        eventlet.sleep(0.01)
    start_at.append(time.monotonic())
    for g in pool:
        g.wait()
    print(json.dumps({"latencies_ms": latencies, "errors": errors[:5], "error_count": len(errors)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
