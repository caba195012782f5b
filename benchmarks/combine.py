"""Put a pure-Python run and an accelerated run side by side, as docs/performance.md shows them.

    python benchmarks/run.py --repeat 5 --no-speedups --json pure.json
    python benchmarks/run.py --repeat 5 --json accel.json
    python benchmarks/combine.py pure.json accel.json [--json more-pure.json more-accel.json]

Prints two Markdown tables: the baseline (raw websocket-client and websockets, with the issue's
reference figures) and the SDK (dynamic and generated clients, with the targets). Each cell is
the median with its ratio to raw websocket-client **of the same run** in brackets. Further
pairs of runs (``--json``, for example an ``--only send_burst`` run) add their rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report
import suite

BASELINE = ("raw", "websockets")
SDK = ("sdk", "generated")
SIDES = ("pure", "wsaccel+orjson")


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _config(document: dict[str, Any]) -> suite.Config:
    fields = dict(document["config"])
    fields["footprint_counts"] = tuple(fields["footprint_counts"])
    return suite.Config(**fields)


def combined(pairs: list[tuple[dict[str, Any], dict[str, Any]]], keys: tuple[str, ...]) -> str:
    """One Markdown table: for each contender in ``keys``, its pure and accelerated cells."""
    first_pure = pairs[0][0]
    labels = {k: v["label"] for k, v in first_pure["contenders"].items()}
    refs = keys == BASELINE
    headers = ["benchmark", "unit"]
    for key in keys:
        headers += [f"{labels.get(key, key)} ({side})" for side in SIDES]
    headers += list(report.REFERENCES) if refs else ["target"]
    lines = []
    for pure, accel in pairs:
        for row in report.rows(_config(pure)):
            if row.bench not in pure["results"] or row.bench not in accel["results"]:
                continue
            cells = [row.label, row.unit]
            for key in keys:
                for document in (pure, accel):
                    entry = document["results"][row.bench].get(key)
                    cells.append(report._cell(entry, row, key))
            if all(cell in ("-", "n/a", "") for cell in cells[2:]):
                continue
            if refs:
                cells += [
                    ref[1] if (ref := table.get((row.bench, row.metric))) else ""
                    for table in report.REFERENCES.values()
                ]
            else:
                cells.append(row.target)
            lines.append(cells)
    out = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join([" --- "] * 2 + [" ---: "] * (len(headers) - 2)) + "|",
    ]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pure", type=Path, help="--json of a run with --no-speedups")
    parser.add_argument("accel", type=Path, help="--json of a run with wsaccel and orjson")
    parser.add_argument(
        "--json", nargs=2, action="append", default=[], type=Path, metavar=("PURE", "ACCEL")
    )
    args = parser.parse_args(argv)
    pairs = [(_load(args.pure), _load(args.accel))]
    pairs += [(_load(p), _load(a)) for p, a in args.json]
    for pure, accel in pairs:
        if pure["machine"]["accelerators"] != {"wsaccel": False, "orjson": False}:
            print(f"note: {args.pure} was not a --no-speedups run", file=sys.stderr)
        if not all(accel["machine"]["accelerators"].values()):
            print(f"note: {args.accel} ran without an accelerator", file=sys.stderr)
    print("### Baseline\n")
    print(combined(pairs, BASELINE))
    print("\n### SDK\n")
    print(combined(pairs, SDK))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
