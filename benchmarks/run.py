"""wsapi-client benchmarks against raw websocket-client and websockets' sync client.

    python benchmarks/run.py [--quick | --smoke] [--repeat N] [--json out.json]
                             [--only BENCH,...] [--contenders KEY,...] [--server auto|node|python]
                             [--no-speedups] [--markdown]

Starts the benchmark server (Node ws, or the Python fallback), then runs every benchmark for
every contender in the same run, alternating the contenders' order between repeats, and prints
medians with ratios to raw websocket-client next to the issue's reference figures.
``--smoke`` uses tiny counts (CI); ``--quick`` takes about two minutes; the default is the full
run. See docs/performance.md for what each benchmark measures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if "--no-speedups" in sys.argv:
    os.environ["WSAPI_BENCH_NO_SPEEDUPS"] = "1"
sys.path.insert(0, str(HERE))
try:
    import wsapi_client  # noqa: F401
except ImportError:  # running from a checkout without an install
    sys.path.insert(1, str(HERE.parent))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")])
    )

import accel  # noqa: E402 - after the path set-up; before anything imports websocket
import capacity  # noqa: E402
import contenders  # noqa: E402
import report  # noqa: E402
import suite  # noqa: E402
from servers import BenchServer, Control  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller counts (about 2 minutes)")
    size.add_argument(
        "--smoke", action="store_true", help="tiny counts, for CI: checks that everything runs"
    )
    parser.add_argument("--repeat", type=int, help="repeats per benchmark (default 3; smoke 1)")
    parser.add_argument("--json", type=Path, help="write machine-readable results here")
    parser.add_argument(
        "--only",
        help=f"comma-separated benchmarks: {','.join(suite.BENCHMARKS)} "
        f"(default: all of these); also {','.join(suite.OPTIONAL)}",
    )
    parser.add_argument(
        "--contenders",
        help="comma-separated contender keys: " + ",".join(c.key for c in contenders.CONTENDERS),
    )
    parser.add_argument(
        "--server",
        choices=("auto", "node", "python"),
        default="auto",
        help="benchmark server (auto: Node ws if available, else Python)",
    )
    parser.add_argument(
        "--no-speedups", action="store_true", help="hide wsaccel and orjson (pure-Python run)"
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def machine() -> dict[str, Any]:
    import websocket

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "websocket-client": websocket.__version__,
        "accelerators": accel.present(),
    }
    try:
        import websockets

        info["websockets"] = websockets.__version__
    except ImportError:
        pass
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            info["cpu"] = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in cpuinfo
                    if line.startswith("model name")
                ),
                "",
            )
    except OSError:
        pass
    return info


def _capacity_text(cap: dict[str, float]) -> str:
    if not cap:
        return "capacity not measured"
    counted, sent = cap["count_msg_s"] / 1e3, cap["blast_msg_s"] / 1e3
    floor = cap["send_floor_msg_s"] / 1e3
    return (
        f"capacity: counts {counted:.0f}k msg/s, sends {sent:.0f}k msg/s; "
        f"one pre-built frame per send() call: {floor:.0f}k msg/s"
    )


def run(args: argparse.Namespace) -> int:
    # The SDK logs each (deliberate) drop at WARNING; keep the report readable.
    logging.getLogger("wsapi_client").setLevel(logging.ERROR)
    profile = "smoke" if args.smoke else "quick" if args.quick else "full"
    config = suite.PROFILES[profile]
    if args.repeat is not None:
        config.repeat = args.repeat
    benches = list(suite.BENCHMARKS) if not args.only else args.only.split(",")
    unknown = [b for b in benches if b not in suite.ALL]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}", file=sys.stderr)
        return 2

    wanted = (
        args.contenders.split(",") if args.contenders else [c.key for c in contenders.CONTENDERS]
    )
    chosen, skipped = [], {}
    for key in wanted:
        contender = contenders.by_key().get(key)
        if contender is None:
            print(f"unknown contender {key!r}", file=sys.stderr)
            return 2
        why = contender.available()
        if why is None:
            chosen.append(contender)
        else:
            skipped[key] = why
            print(f"skipping {contender.label}: {why}", file=sys.stderr)

    load_before = os.getloadavg()
    if load_before[0] > 1.0:
        print(
            f"note: load average {load_before[0]:.2f} before the run: the figures will be noisy",
            file=sys.stderr,
        )
    started = time.monotonic()
    results: dict[str, dict[str, dict[str, Any]]] = {}
    errors = 0
    with BenchServer(args.server) as server:
        for note in server.notes:
            print(f"server: {note}", file=sys.stderr)
        control = Control(server)
        try:
            env = suite.Env(server, control, config)
            cap = capacity.measure(server, control, config.capacity_n) if config.capacity_n else {}
            print(f"server: {server.description}; {_capacity_text(cap)}", file=sys.stderr)
            for bench in benches:
                function = suite.ALL[bench]
                per = results.setdefault(bench, {})
                repeats = 1 if bench in suite.REPEATED_ONCE else config.repeat
                for rep in range(repeats):
                    order = (
                        chosen[rep % len(chosen) :] + chosen[: rep % len(chosen)] if chosen else []
                    )
                    for contender in order:
                        entry = per.setdefault(
                            contender.key, {"runs": [], "reps": [], "errors": []}
                        )
                        try:
                            figures = function(contender, env)
                        except Exception as exc:
                            errors += 1
                            entry["errors"].append(f"{type(exc).__name__}: {exc}")
                            print(
                                f"{bench} / {contender.label}: {type(exc).__name__}: {exc}",
                                file=sys.stderr,
                            )
                            if os.environ.get("WSAPI_BENCH_TRACEBACK"):
                                traceback.print_exc()
                            continue
                        if figures is None:
                            entry["unsupported"] = True
                        else:
                            entry["runs"].append(figures)
                            entry["reps"].append(rep)
                print(f"  {bench}: done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        finally:
            control.close()
        server_description, server_notes = server.description, server.notes

    report.summarise(results)
    labels = {c.key: c.label for c in chosen}
    print()
    print(
        f"wsapi-client benchmarks ({profile}, {config.repeat} repeat(s), medians;"
        " ratios to raw websocket-client)"
    )
    info = machine()
    print(
        f"machine: {info.get('cpus')} CPUs {info.get('cpu', '')}, Python {info['python']}, "
        f"websocket-client {info['websocket-client']}, websockets {info.get('websockets', '-')}, "
        f"accelerators {', '.join(k for k, v in info['accelerators'].items() if v) or 'none'}"
    )
    print(f"server: {server_description} on 127.0.0.1; {_capacity_text(cap)}")
    load_after = os.getloadavg()
    print(f"load average (1 min) before/after: {load_before[0]:.2f}/{load_after[0]:.2f}")
    print(report.table(results, labels, config))
    for key, why in skipped.items():
        print(f"not measured: {key}: {why}")
    if args.markdown:
        print()
        print(report.markdown(results, labels, config))
    elapsed = time.monotonic() - started
    print(f"({elapsed:.0f} s; {errors} error(s))")

    if args.json:
        document = {
            "profile": profile,
            "config": dict(vars(config)),
            "machine": {**info, "loadavg_before": load_before, "loadavg_after": load_after},
            "server": {"description": server_description, "notes": server_notes, "capacity": cap},
            "contenders": {c.key: {"label": c.label, "note": c.note} for c in chosen},
            "skipped": skipped,
            "references": {
                name: {f"{b}.{m}": v[0] for (b, m), v in refs.items()}
                for name, refs in report.REFERENCES.items()
            },
            "results": results,
            "elapsed_s": elapsed,
            "errors": errors,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2, default=list) + "\n")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
