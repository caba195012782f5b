"""The benchmark harness still runs end to end: ``benchmarks/run.py --smoke`` in a subprocess.

Only completeness is checked (every benchmark produced figures for every contender that can do
it, no errors); nothing here depends on timings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / "benchmarks" / "run.py"

BENCHMARKS = {
    "send": ("msg_s", "loop_msg_s"),
    "send_batch": ("msg_s",),
    "send_threads": ("msg_s",),
    "receive": ("msg_s",),
    "echo": ("p50_us", "p99_us"),
    "reconnect_first": ("ms", "over_backoff_ms"),
    "outage_flush": ("ms",),
    "footprint": ("threads@1", "rss_kib@1", "fds@1", "threads@3", "rss_kib@3", "fds@3"),
    "large_send": ("msg_s", "mib_s"),
    "large_receive": ("msg_s", "mib_s"),
}
BATCHLESS = {"raw", "websockets"}
"""Libraries without a batch API: their batched-send entry is marked unsupported, not measured."""


def run_smoke(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "smoke.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--json", str(out), *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"run.py --smoke failed:\n{output}"
    assert "benchmark" in done.stdout  # the printed table
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def check_complete(document: dict[str, Any]) -> None:
    assert document["errors"] == 0
    measured = set(document["contenders"])
    assert {"raw", "websockets"} <= measured
    results = document["results"]
    assert set(results) == set(BENCHMARKS)
    for bench, metrics in BENCHMARKS.items():
        for contender in measured:
            entry = results[bench][contender]
            assert not entry["errors"], (bench, contender, entry["errors"])
            if bench == "send_batch" and contender in BATCHLESS:
                assert entry.get("unsupported") is True
                continue
            assert entry["runs"], (bench, contender)
            for metric in metrics:
                value = entry["median"][metric]
                assert isinstance(value, (int, float)), (bench, contender, metric, value)
                if metric.endswith(("_s", "_us")) or metric == "ms":  # rates and durations
                    assert value > 0, (bench, contender, metric, value)
            if contender != "raw" and bench != "footprint":
                assert set(entry["ratio"]) >= set(metrics), (bench, contender, entry["ratio"])


@pytest.mark.timeout(300)
def test_smoke_run_covers_every_benchmark(tmp_path: Path) -> None:
    document = run_smoke(tmp_path)
    check_complete(document)
    assert document["server"]["description"]
    assert document["references"], "the issue's reference figures are part of the report"


@pytest.mark.timeout(300)
def test_smoke_run_with_the_python_server(tmp_path: Path) -> None:
    document = run_smoke(tmp_path, "--server", "python", "--contenders", "raw,websockets")
    check_complete(document)
    assert document["server"]["description"].startswith("python websockets")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="handoff.py forks its echo process")
@pytest.mark.timeout(60)
def test_handoff_probe_prints_its_three_figures_per_repeat() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "handoff.py"), "--rounds=50", "--repeat=2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert "CPUs" in lines[0]
    rows = [line.split() for line in lines[2:]]
    assert [row[0] for row in rows] == ["1", "2"]
    for row in rows:
        assert all(float(value) > 0 for value in row[1:4])
