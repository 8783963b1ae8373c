"""The bench's output: the results table, ratios to a baseline, and the performance targets
(docs/benchmarks.md) checked against this run."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from dataclasses import dataclass
from typing import Callable

from fastgrad.bench.measure import NA
from fastgrad.bench.spec import BACKEND_TITLES, METRICS, Metric
from fastgrad.cli.common import duration, size

# results[metric key][backend] is a number, an NA, or missing (not run)
Results = dict[str, dict[str, "float | NA"]]


def machine() -> dict[str, str]:
    """What produced the figures: CPU, Python, and the versions of every contestant."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    info = {"cpu": f"{cpu}, {os.cpu_count()} logical CPUs", "python": sys.version.split()[0],
            "platform": platform.platform()}
    for package in ("fastgrad", "numpy", "micrograd", "torch", "scikit-learn"):
        try:
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            info[package] = "not installed" if package != "fastgrad" else _fastgrad_version()
    return info


def _fastgrad_version() -> str:
    import fastgrad
    return f"{fastgrad.__version__} (not installed: run from its source tree)"


def _value(metric: Metric, v: float) -> str:
    if metric.unit == "nodes":
        return f"{v:+.0f}"
    if metric.unit == "x":
        return _times(v)
    return duration(v) if metric.unit == "s" else size(v)


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    notes: list[str]

    def render(self, markdown: bool) -> str:
        if markdown:
            lines = ["| " + " | ".join(self.header) + " |",
                     "|" + "|".join(["---"] + ["---:"] * (len(self.header) - 1)) + "|"]
            lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        else:
            table = [self.header, *self.rows]
            widths = [max(len(r[i]) for r in table) for i in range(len(self.header))]
            fmt = [f"{{:<{widths[0]}}}"] + [f"{{:>{w}}}" for w in widths[1:]]
            lines = ["  ".join(f.format(c) for f, c in zip(fmt, row)) for row in table]
            lines.insert(1, "  ".join("-" * w for w in widths))
        notes = [f"- {n}" for n in self.notes] if markdown else self.notes
        return "\n".join(lines + ([""] + notes if notes else []))


def results_table(results: Results, backends: list[str]) -> Table:
    """Measured values; a cell a backend cannot fill says why, with the detail under the table."""
    notes: list[str] = []
    rows = []
    for metric in METRICS:
        if metric.key not in results:
            continue
        row = [metric.label]
        for backend in backends:
            cell = results[metric.key].get(backend)
            if cell is None:
                row.append("")
            elif isinstance(cell, NA):
                note = f"{cell.short}: {cell.detail}" if cell.detail else cell.short
                if note not in notes:
                    notes.append(note)
                row.append(f"{cell.short} [{notes.index(note) + 1}]")
            else:
                row.append(_value(metric, cell))
        rows.append(row)
    header = ["workload"] + [BACKEND_TITLES[b] for b in backends]
    return Table(header, rows, [f"[{i}] {n}" for i, n in enumerate(notes, 1)])


def ratios(results: Results, backends: list[str],
           baseline: str) -> list[tuple[Metric, dict[str, float]]]:
    """Per metric that has any, each backend's value over the baseline's in the same row
    (lower is faster/smaller); backends without a number in the row are left out."""
    found = []
    for metric in METRICS:
        row_values = results.get(metric.key)
        if row_values is None or not metric.ratio:
            continue
        base = row_values.get(baseline)
        if not (isinstance(base, float) and base > 0):
            continue
        row = {b: cell / base for b in backends
               if isinstance(cell := row_values.get(b), float)}
        if row:
            found.append((metric, row))
    return found


def ratio_table(results: Results, backends: list[str], baseline: str) -> Table:
    """Each value over the baseline backend's value in the same row (lower is faster/smaller)."""
    rows = [[metric.label] + [_times(row[b]) if b in row else "" for b in backends]
            for metric, row in ratios(results, backends, baseline)]
    header = [f"ratio to {BACKEND_TITLES[baseline]}"] + [BACKEND_TITLES[b] for b in backends]
    return Table(header, rows, [])


def _times(r: float) -> str:
    return f"{r:.0f}x" if r >= 100 else f"{r:.3g}x"


_UNMEASURED = "not measured in this run"


@dataclass
class Target:
    figure: str
    target: str
    measured: str
    met: bool | None  # None: not measured in this run


def targets(results: Results) -> list[Target]:
    """The performance targets (docs/benchmarks.md), checked against the fastgrad column."""
    def g(key: str, backend: str = "fastgrad") -> float | None:
        v = results.get(key, {}).get(backend)
        return v if isinstance(v, float) else None

    out = []

    def ratio(figure: str, target: str, num: float | None, den: float | None,
              ok: Callable[[float], bool], text: str) -> None:
        if num is None or den is None or den == 0:
            out.append(Target(figure, target, _UNMEASURED, None))
        else:
            r = num / den
            out.append(Target(figure, target, text.format(r=r), ok(r)))

    forward, interleaved = g("op_forward"), g("op_over_floats")
    # the floor timed beside fastgrad in its own process beats the floats column's
    floor = forward / interleaved if forward and interleaved else g("op_forward", "floats")
    ratio("forward, per op", "<= 1.5x floats", forward, floor, lambda r: r <= 1.5,
          "{r:.2f}x floats")
    ratio("backward, per op", "<= 0.25x own forward", g("op_backward"), g("op_forward"),
          lambda r: r <= 0.25, "{r:.2f}x forward")
    def over_fastgrad(backend: str) -> tuple[float | None, float | None]:
        """(other's step, fastgrad's step): timed side by side if possible, else across columns."""
        interleaved = g("moons_over_fastgrad", backend)
        return (interleaved, 1.0) if interleaved else (g("moons_step", backend), g("moons_step"))

    ratio("moons step vs micrograd", ">= 1000x faster", *over_fastgrad("micrograd"),
          lambda r: r >= 1000, "{r:.0f}x faster")
    ratio("moons step vs torch (batched)", "faster", *over_fastgrad("torch"),
          lambda r: r > 1, "{r:.2f}x torch's speed")
    ratio("compiled moons step vs torch", ">= 5x faster", g("moons_over_compiled", "torch"),
          1.0, lambda r: r >= 5.0, "{r:.2f}x faster")
    ratio("compiled digits step vs torch", ">= 1.5x faster",
          g("digits_over_compiled", "torch"), 1.0, lambda r: r >= 1.5, "{r:.2f}x faster")
    over, floor = g("moons_over_floor"), g("moons_floor")
    if over is None or floor is None:
        out.append(Target("compiled moons step vs arithmetic floor", "reported", _UNMEASURED,
                          None))
    else:
        from fastgrad.bench.compiled import moons_macs
        out.append(Target("compiled moons step vs arithmetic floor", "reported",
                          f"{over:.1f}x the floor (plain C loops: {moons_macs()} "
                          f"multiply-adds in {floor * 1e6:.1f} us)", None))
    ratio("README expression replayed vs built", ">= 3x faster", g("expr_over_compiled"), 1.0,
          lambda r: r >= 3.0, "{r:.2f}x faster")
    live = {k: v for k in results if k.startswith("live_") and (v := g(k)) is not None}
    worst = max(live, key=live.__getitem__, default=None)
    out.append(Target("forward, per op, live 10^3..10^7", "<= 1.6x floats", _UNMEASURED, None)
               if worst is None else
               Target("forward, per op, live 10^3..10^7", "<= 1.6x floats",
                      f"worst {live[worst]:.2f}x floats ({worst}; {len(live)} sizes)",
                      live[worst] <= 1.6))
    ratio("README expression fresh + backward", "<= 1.6x floats forward",
          g("readme_over_floats"), 1.0, lambda r: r <= 1.6, "{r:.2f}x floats")
    node = g("mem_node")
    out.append(Target("memory per node", "<= 64 B", _UNMEASURED, None) if node is None
               else Target("memory per node", "<= 64 B", f"{node:.1f} B", node <= 64))
    left, nodes = g("mem_release"), g("mem_release_nodes")
    if left is None or nodes is None:
        out.append(Target("memory after release", "back to start", _UNMEASURED, None))
    else:
        out.append(Target("memory after release", "back to start",
                          f"{nodes:+.0f} nodes, {size(left)} held", nodes <= 0 and left <= 0))
    return out


def targets_table(items: list[Target]) -> Table:
    verdict = {True: "met", False: "NOT met", None: "-"}
    return Table(["fastgrad's targets", "target", "measured", ""],
                 [[t.figure, t.target, t.measured, verdict[t.met]] for t in items], [])
