"""Medians, ratios to raw websocket-client, the issue's reference figures, and the printed table."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Callable, Optional

from suite import Config

BASELINE = "raw"


@dataclass(frozen=True)
class Row:
    bench: str
    metric: str
    label: str
    unit: str
    base_bench: str = ""  # the raw figure the ratio divides by (default: the same benchmark)
    target: str = ""


def rows(config: Config) -> list[Row]:
    backoff_ms = round(config.reconnect_delay * 1000)
    out = [
        Row("send", "msg_s", "send, plain loop (server-counted)", "msg/s", target=">= 1.5x"),
        Row(
            "send_batch",
            "msg_s",
            f"send, batched ({config.batch_size}/batch)",
            "msg/s",
            base_bench="send",
            target=">= 2.2x",
        ),
        Row("send_threads", "msg_s", f"send, {config.send_threads} threads at once", "msg/s"),
        Row(
            "send_burst",
            "idle_p50_us",
            f"burst of {config.burst_size}: last message, p50 (sender then waits)",
            "us",
        ),
        Row(
            "send_burst",
            "idle_max_us",
            f"burst of {config.burst_size}: last message, max (sender then waits)",
            "us",
        ),
        Row(
            "send_burst",
            "busy_p50_us",
            f"burst of {config.burst_size}: last message, p50 (sender then busy)",
            "us",
        ),
        Row(
            "send_burst",
            "busy_max_us",
            f"burst of {config.burst_size}: last message, max (sender then busy)",
            "us",
        ),
        Row("receive", "msg_s", "receive: decode + dispatch", "msg/s", target=">= 1.25x"),
        Row("echo", "p50_us", "echo round trip p50", "us", target="<= 1.1x"),
        Row("echo", "p99_us", "echo round trip p99", "us"),
        Row("echo", "threaded_p50_us", "echo p50, raw reply via reader thread", "us"),
        Row("echo", "threaded_p99_us", "echo p99, raw reply via reader thread", "us"),
        Row(
            "reconnect_first",
            "ms",
            f"drop -> first delivered (backoff {backoff_ms} ms)",
            "ms",
            target="<= backoff+20",
        ),
        Row("outage_flush", "ms", f"flush of {config.outage_n} msgs queued in outage", "ms"),
    ]
    for count in config.footprint_counts:
        out += [
            Row(
                "footprint", f"threads@{count}", f"idle x{count}: threads/client", "", target="<= 2"
            ),
            Row(
                "footprint",
                f"rss_kib@{count}",
                f"idle x{count}: RSS/client",
                "KiB",
                target="<= 300",
            ),
            Row("footprint", f"fds@{count}", f"idle x{count}: fds/client", ""),
        ]
    out += [
        Row("large_send", "msg_s", "100 KiB send (32 KiB frames in SDK)", "msg/s"),
        Row("large_send", "mib_s", "100 KiB send", "MiB/s"),
        Row("large_receive", "msg_s", "100 KiB receive, 32 KiB fragments", "msg/s"),
        Row("large_receive", "mib_s", "100 KiB receive", "MiB/s"),
    ]
    return out


# The figures for this kind of machine (2 cores, loopback, Node ws server). Fixed
# references, not measured by this run.
REFERENCES: dict[str, dict[tuple[str, str], tuple[float, str]]] = {
    "ref: raw ws-client (issue)": {
        ("send", "msg_s"): (50_000, "~50k"),
        ("receive", "msg_s"): (79_000, "75-83k"),
        ("echo", "p50_us"): (81, "~81"),
    },
    "ref: PDK TS client (issue)": {
        ("send", "msg_s"): (112_000, "~112k"),
        ("receive", "msg_s"): (95_000, "~95k"),
        ("echo", "p50_us"): (91, "~91"),
    },
}


def median_of(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = {k for run in runs for k, v in run.items() if isinstance(v, (int, float))}
    return {k: statistics.median(run[k] for run in runs if k in run) for k in sorted(keys)}


def summarise(raw_results: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Add ``median`` (per metric) and ``ratio`` (to raw websocket-client) to every entry.

    A ratio is the median of per-repeat ratios: within one repeat the contenders ran back to
    back, so pairing them cancels most of the drift of a shared machine between repeats. When
    repeats cannot be paired it falls back to the ratio of the medians.
    """
    for per_contender in raw_results.values():
        for entry in per_contender.values():
            runs = [r for r in entry["runs"] if r is not None]
            entry["median"] = median_of(runs) if runs else {}
    for bench, per_contender in raw_results.items():
        base_entry = raw_results.get("send" if bench == "send_batch" else bench, {}).get(
            BASELINE, {}
        )
        base_by_rep = dict(zip(base_entry.get("reps", []), base_entry.get("runs", [])))
        for entry in per_contender.values():
            entry["ratio"] = {}
            for metric, value in entry["median"].items():
                paired = [
                    run[metric] / base_by_rep[rep][metric]
                    for rep, run in zip(entry.get("reps", []), entry["runs"])
                    if rep in base_by_rep and base_by_rep[rep].get(metric) and metric in run
                ]
                base = base_entry.get("median", {}).get(metric)
                if paired and len(base_by_rep) > 1:
                    entry["ratio"][metric] = statistics.median(paired)
                elif base:
                    entry["ratio"][metric] = value / base


def _fmt(value: float, unit: str) -> str:
    if unit in ("msg/s",):
        return f"{value / 1000:.1f}k" if value >= 1000 else f"{value:.0f}"
    if unit in ("us", "KiB"):
        return f"{value:.0f}"
    if unit in ("ms", "MiB/s"):
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(
    results: dict[str, dict[str, dict[str, Any]]],
    labels: dict[str, str],
    config: Config,
    show_references: bool = True,
) -> str:
    contenders = list(labels)
    headers = ["benchmark", "unit", *(labels[c] for c in contenders)]
    if show_references:
        headers += list(REFERENCES)
    headers.append("target (SDK vs raw)")
    lines: list[list[str]] = []
    for row in rows(config):
        if row.bench not in results:
            continue
        per = results[row.bench]
        cells = [row.label, row.unit]
        for key in contenders:
            entry = per.get(key)
            cells.append(_cell(entry, row, key))
        if show_references:
            cells += [
                ref[1] if (ref := refs.get((row.bench, row.metric))) else ""
                for refs in REFERENCES.values()
            ]
        cells.append(row.target)
        lines.append(cells)
    return _render(headers, lines)


def _cell(entry: Optional[dict[str, Any]], row: Row, key: str) -> str:
    if entry is None:
        return "-"
    if entry.get("errors") and not entry.get("median"):
        return "error"
    if entry.get("unsupported") and not entry.get("median"):
        return "n/a"
    value = entry.get("median", {}).get(row.metric)
    if value is None:
        return "-"
    text = _fmt(value, row.unit)
    ratio = entry.get("ratio", {}).get(row.metric)
    if (
        ratio is not None
        and (key != BASELINE or row.bench == "send_batch")
        and row.bench != "footprint"
    ):
        text += f" ({ratio:.2f}x)"
    return text


def _render(headers: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    align: Callable[[str, int, int], str] = lambda s, w, i: s.ljust(w) if i < 2 else s.rjust(w)  # noqa: E731
    out = [" | ".join(align(h, widths[i], i) for i, h in enumerate(headers))]
    out.append("-+-".join("-" * w for w in widths))
    out += [" | ".join(align(c, widths[i], i) for i, c in enumerate(line)) for line in lines]
    return "\n".join(out)


def markdown(
    results: dict[str, dict[str, dict[str, Any]]],
    labels: dict[str, str],
    config: Config,
) -> str:
    """The same table in Markdown, for docs/performance.md."""
    text = table(results, labels, config)
    head, _rule, *body = text.splitlines()
    cols = head.count(" | ") + 1
    md = [
        "| " + " | ".join(c.strip() for c in head.split(" | ")) + " |",
        "|" + "|".join([" --- "] * 2 + [" ---: "] * (cols - 2)) + "|",
    ]
    md += ["| " + " | ".join(c.strip() for c in line.split(" | ")) + " |" for line in body]
    return "\n".join(md)
