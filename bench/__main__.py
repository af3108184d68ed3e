"""`python -m bench` (`make bench`): raw RabbitMQ vs Lianxin's one-hop path, same run.

Both on the same broker, in a throwaway vhost that is deleted at the end: the
raw broker from this process, Lianxin as a producer process and reporting (in
this process), and optionally the at-scale phases (`--scale N`: backlog,
rebuild, queries). Prints every figure beside the issue's target and the raw
baseline, and writes the full result to bench/results/<timestamp>.json.
See docs/performance.md.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # printed at import
import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything else imports socket/threading, as nameko does

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from bench import at_scale, lianxin_path, raw_broker, report_query, two_hops  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

# The targets, shown beside the figures for context.
TARGET_EVENTS_PER_S = 5000
TARGET_SHARE_OF_RAW_CONSUME = 0.40
TARGET_P50_MS = 10.0
TARGET_P99_MS = 50.0
TARGET_RATE = 1000


def _ratios(raw: dict | None, lx: dict | None) -> dict:
    if not raw or not lx:
        return {}
    eps = lx["throughput"]["events_per_s"]
    return {
        "one_hop_vs_raw_consume_ack": round(eps / raw["consume_ack_per_s"], 3),
        "one_hop_vs_raw_publish_confirmed": round(eps / raw["publish_confirmed_per_s"], 3),
        "latency_p50_vs_raw": round(lx["latency"]["p50_ms"] / raw["latency"]["p50_ms"], 2),
        "latency_p99_vs_raw": round(lx["latency"]["p99_ms"] / raw["latency"]["p99_ms"], 2),
    }


def _verdicts(lx: dict | None, ratios: dict) -> dict:
    if not lx:
        return {}
    out = {
        "events_per_s": lx["throughput"]["events_per_s"] >= TARGET_EVENTS_PER_S,
        "latency_p50": lx["latency"]["p50_ms"] <= TARGET_P50_MS,
        "latency_p99": lx["latency"]["p99_ms"] <= TARGET_P99_MS,
    }
    if ratios:
        out["share_of_raw_consume_ack"] = ratios["one_hop_vs_raw_consume_ack"] >= TARGET_SHARE_OF_RAW_CONSUME
    return out


def _table(result: dict) -> str:
    raw, lx, ratios, ok = result.get("raw"), result.get("lianxin"), result["ratios"], result["meets_target"]
    mark = lambda key: "" if key not in ok else ("  ok" if ok[key] else "  MISSED")  # noqa: E731
    rows = []
    if raw:
        rows += [
            ("raw publish + confirm", f"{raw['publish_confirmed_per_s']:,.0f} msg/s", ""),
            ("raw consume + ack", f"{raw['consume_ack_per_s']:,.0f} msg/s", ""),
            (f"raw latency p50 / p99 @ {raw['latency']['rate_per_s']:,.0f}/s",
             f"{raw['latency']['p50_ms']:.2f} / {raw['latency']['p99_ms']:.2f} ms", ""),
        ]
    if lx:
        tp, lat = lx["throughput"], lx["latency"]
        rows += [
            ("Lianxin one hop", f"{tp['events_per_s']:,.0f} events/s",
             f">= {TARGET_EVENTS_PER_S:,}/s{mark('events_per_s')}"),
            ("  (writes done / last confirm / all applied)",
             f"{tp['writes_done_s']:.2f} / {tp['all_confirmed_s']:.2f} / {tp['seconds']:.2f} s", ""),
            ("  latency under saturation p50 / p99",
             f"{tp['latency_under_load']['p50_ms']:,.0f} / {tp['latency_under_load']['p99_ms']:,.0f} ms", ""),
            ("  events/s in each 5 s window", _windows(tp["per_5s_window_events_per_s"]), ""),
        ] + [
            (f"  CPU per event: {who}", "n/a" if us is None else f"{us:,.0f} us", "")
            for who, us in tp["cpu_us_per_event"].items()
        ] + [
            (f"  peak RSS: {who}", f"{mb:,.0f} MB", "") for who, mb in tp["peak_rss_mb"].items()
        ] + [
            (f"Lianxin latency p50 @ {lat['rate_per_s']:,.0f}/s", f"{lat['p50_ms']:.2f} ms",
             f"<= {TARGET_P50_MS:g} ms @ {TARGET_RATE:,}/s{mark('latency_p50')}"),
            (f"Lianxin latency p99 @ {lat['rate_per_s']:,.0f}/s", f"{lat['p99_ms']:.2f} ms",
             f"<= {TARGET_P99_MS:g} ms{mark('latency_p99')}"),
            ("  of which write -> publish confirmed p50 / p99",
             f"{lat['write_to_confirm']['p50_ms']:.2f} / {lat['write_to_confirm']['p99_ms']:.2f} ms", ""),
        ]
    if ratios:
        rows += [
            ("RATIO one hop / raw consume+ack", f"{ratios['one_hop_vs_raw_consume_ack']:.1%}",
             f">= {TARGET_SHARE_OF_RAW_CONSUME:.0%}{mark('share_of_raw_consume_ack')}"),
            ("RATIO one hop / raw publish+confirm", f"{ratios['one_hop_vs_raw_publish_confirmed']:.1%}", ""),
            ("RATIO latency p50 / raw p50", f"{ratios['latency_p50_vs_raw']:.1f}x", ""),
            ("RATIO latency p99 / raw p99", f"{ratios['latency_p99_vs_raw']:.1f}x", ""),
        ]
    if lx:
        rows.append(("checks (nothing lost, outbox empty)", "ok" if lx["checks"]["ok"] else "FAILED", ""))
    if not rows:
        return ""
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    header = f"{'':<{w0}}  {'measured':>{w1}}  target (issue)"
    return "\n".join([header] + [f"{a:<{w0}}  {b:>{w1}}  {c}".rstrip() for a, b, c in rows])


def _windows(rates: list) -> str:
    if not rates:
        return "(run under 10 s)"
    return f"min {min(rates):,} / max {max(rates):,}"


def _time_in(result: dict) -> str:
    """Where the one-hop time goes (wall time inside each stage, per event)."""
    lx = result.get("lianxin")
    if not lx:
        return ""
    tp, lat = lx["throughput"]["time_in"], lx["latency"]["time_in"]
    w = max(len(k) for k in list(tp) + list(lat))
    lines = [f"{'time in (wall, per event; * = waits, overlaps others)':<{w}}  {'throughput':>18}  {'paced latency':>18}"]
    order = ("producer", "relay", "consumer", "python gc")
    for name in sorted(set(tp) | set(lat), key=lambda k: (
            [k.startswith(o) for o in order].index(True) if any(k.startswith(o) for o in order) else 9,
            "(total)" not in k and "ConfirmPublisher" not in k, -tp.get(k, {}).get("share", 0))):
        star = "*" if "(total)" in name or "ConfirmPublisher" in name else " "
        a, b = tp.get(name, {"us_per_event": 0, "share": 0}), lat.get(name, {})
        lines.append(f"{name:<{w}}{star} {a['us_per_event']:>7.1f} us {a['share']:>6.1%}  "
                     f"{b.get('us_per_event', 0):>7.1f} us max {b.get('max_ms', 0):>5.1f} ms")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000, help="messages / events per throughput phase")
    parser.add_argument("--seconds", type=float, default=0.0,
                        help="Lianxin throughput: write for this long instead of --count events "
                             "(sustained; --count is then the most it writes)")
    parser.add_argument("--size", type=int, default=300, help="raw message body size in bytes "
                        "(Lianxin's envelopes are ~450 B; both sizes are reported)")
    parser.add_argument("--only", choices=("raw", "lianxin", "report", "scale", "two-hops"),
                        help="measure one side only; `report`: reports over the 2018 data set "
                             "(bench/report_query.py), with the raw broker; `scale`: the at-scale "
                             "phases only (bench/at_scale.py)")
    parser.add_argument("--scale", type=int, default=0, metavar="N",
                        help="also run the at-scale phases with N events: backlog drain, rebuild, "
                             "summaries from concurrent clients (the issue's figures: 1000000)")
    parser.add_argument("--clients", type=int, default=20, help="at scale: concurrent summary clients")
    parser.add_argument("--two-hops", type=int, default=20000, metavar="N",
                        help="intake -> owning service -> reporting with N deeds (0: skip; run with the "
                             "one-hop phase and by --only two-hops)")
    parser.add_argument("--query-seconds", type=float, default=20.0, help="at scale: how long clients ask")
    parser.add_argument("--json", action="store_true", help="print the JSON result only (progress to stderr)")
    parser.add_argument("--latency-rate", type=float, default=TARGET_RATE, help="paced events/s in the latency phases")
    parser.add_argument("--latency-count", type=int, default=5000, help="events in each latency phase")
    parser.add_argument("--write-batch", type=int, default=500, help="documents per insert_many_with_events")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the Lianxin throughput phase; stats to bench/results/<ts>.prof")
    parser.add_argument("--report-requests", type=int, default=200, help="--only report: requests per query")
    parser.add_argument("--report-base", help="--only report: time this already loaded system (e.g. "
                        "make run + make demo-2018) instead of loading one on the throwaway vhost")
    args = parser.parse_args(argv)

    out = sys.stderr if args.json else sys.stdout

    def progress(line: str) -> None:
        print(line, file=out, flush=True)

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    from lianxin.log_redaction import install_log_redaction
    install_log_redaction()
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    broker = os.environ.get("AMQP_URI") or lianxin_path.BROKER
    result = {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "rabbitmq": lianxin_path.broker_version(),
                    "loadavg_at_start": os.getloadavg()},
        "args": vars(args),
        "raw": None, "lianxin": None,
    }
    # A SIGTERM (e.g. `timeout`) unwinds like Ctrl-C, so the vhost is deleted.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    profiler = None
    if args.profile:
        import cProfile
        profiler = cProfile.Profile()
    try:
        with lianxin_path.throwaway_vhost(broker, progress) as uri:
            if args.only in (None, "raw", "report"):
                result["raw"] = raw_broker.measure(
                    uri, count=args.count, size=args.size, progress=progress,
                    latency_rate=args.latency_rate, latency_count=args.latency_count)
            if args.only in (None, "lianxin"):
                result["lianxin"] = lianxin_path.measure(
                    uri, args.count, seconds=args.seconds, write_batch=args.write_batch,
                    latency_rate=args.latency_rate,
                    latency_count=args.latency_count, progress=progress, profiler=profiler)
            if args.only == "two-hops" or (args.two_hops and args.only in (None, "lianxin")):
                result["two_hops"] = two_hops.measure(uri, args.two_hops or 20000, progress=progress)
            if args.only == "scale" or (args.scale and args.only in (None, "lianxin")):
                result["scale"] = at_scale.measure(uri, args.scale or 1_000_000, clients=args.clients,
                                                   query_seconds=args.query_seconds, progress=progress)
            if args.only == "report":
                result["report"] = report_query.measure(uri, args.report_requests, progress, args.report_base)
    except (raw_broker.BenchError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    # Other work on the machine skews every figure: the load says how quiet it was.
    result["machine"]["loadavg_at_end"] = os.getloadavg()
    result["ratios"] = _ratios(result["raw"], result["lianxin"])
    result["targets"] = {"events_per_s": TARGET_EVENTS_PER_S, "share_of_raw_consume_ack": TARGET_SHARE_OF_RAW_CONSUME,
                         "latency_p50_ms": TARGET_P50_MS, "latency_p99_ms": TARGET_P99_MS,
                         "latency_rate_per_s": TARGET_RATE}
    result["meets_target"] = _verdicts(result["lianxin"], result["ratios"])

    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stamp}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if profiler is not None:
        import io
        import pstats
        prof_path = RESULTS / f"{stamp}.prof"
        profiler.dump_stats(str(prof_path))
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(30)
        progress(text.getvalue())
        progress(f"profile written to {prof_path}")

    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        if result.get("raw") or result.get("lianxin"):
            print()
            print(_table(result))
        if result.get("lianxin"):
            print()
            print(_time_in(result))
        if result.get("report"):
            print()
            print(report_query.table(result["report"]))
        if result.get("two_hops"):
            th = result["two_hops"]
            print()
            print(f"two hops (intake -> activities -> reporting), {th['events']:,} deeds: "
                  f"{th['events_per_s']:,.0f} events/s  (target >= 2,000/s"
                  f"{'  ok' if th['events_per_s'] >= 2000 else '  MISSED'}); CPU per event: "
                  + ", ".join(f"{k} {v:,.0f} us" for k, v in th["cpu_us_per_event"].items())
                  + f"; dead-lettered {th['dead_lettered']}")
        if result.get("scale"):
            print()
            print(at_scale.table(result["scale"]))
        load = result["machine"]["loadavg_at_start"][0], result["machine"]["loadavg_at_end"][0]
        print(f"\nload average (1 min) at start / end: {load[0]:.2f} / {load[1]:.2f} on {os.cpu_count()} cpus")
        print(f"result written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
