"""Run every workload on every backend, each in a fresh process, and report medians.

Backends: floats (the interpreter's own arithmetic, the floor for per-op figures),
fastgrad (compiled core), fastgrad.pure (FASTGRAD_PURE=1), and micrograd and torch
when they are importable. A backend that cannot run a workload says why in its cell.
Every figure is the median over repeats; the ratio table divides each by the
baseline backend's figure of the same row, measured in the same run.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
import time
from typing import TextIO

from fastgrad.bench import plot, report
from fastgrad.bench.measure import NA
from fastgrad.bench.spec import FLOOR_WORKLOADS, METRICS, REQUIRES, Config
from fastgrad.cli.common import child_env


def run(config: Config, backends: list[str], workloads: list[str], *, quick: bool,
        baseline: str, timeout: float, markdown: bool, json_path: str | None,
        command: str, plot_dir: str | None = None) -> int:
    """Measure `workloads` on `backends` (both in table order) under `config` (QUICK's
    or FULL's sizes, as `quick` says, with any overrides), print the tables, write the
    JSON document to json_path and the ratio chart into plot_dir when given; the exit
    status."""
    out = sys.stdout  # looked up per call: callers may redirect it
    results: report.Results = {m.key: {} for m in METRICS if m.workload in workloads}
    unavailable: dict[str, str] = {}
    status = _Status(sys.stderr)
    cells: dict[str, float | NA]
    for workload in workloads:
        keys = [m.key for m in METRICS if m.workload == workload]
        module, why = REQUIRES.get(workload, (None, ""))
        missing = module is not None and importlib.util.find_spec(module) is None
        for backend in backends:
            if backend == "floats" and workload not in FLOOR_WORKLOADS:
                continue
            if missing:
                cells = {k: NA(f"needs {module}", why) for k in keys}
            elif backend in unavailable:
                continue
            else:
                status.show(f"{workload} on {backend}")
                cells = _measure(backend, workload, config, timeout, unavailable)
            for key, cell in cells.items():
                results[key][backend] = cell
    status.close()

    backends = [b for b in backends if any(b in row for row in results.values())]
    info = report.machine()
    target_items = report.targets(results)
    tables = [report.results_table(results, backends)]
    if baseline not in unavailable:
        tables.append(report.ratio_table(results, backends, baseline))
    if any(t.met is not None for t in target_items):
        tables.append(report.targets_table(target_items))
    print(f"fastgrad bench ({'quick' if quick else 'full'}): medians, "
          f"chain {config.chain_ops} ops, {config.budget:g} s a cell", file=out)
    print(f"machine: {info['cpu']}; Python {info['python']}", file=out)
    for backend, why in unavailable.items():
        print(f"not run on {backend}: {why}", file=out)
    for table in tables:
        print("\n" + table.render(markdown), file=out)
    if json_path:
        _write_json(json_path, command, info, config, results, unavailable,
                    target_items)
        print(f"\nresults written to {json_path}", file=out)
    if plot_dir and baseline not in unavailable:
        print(f"chart written to {plot.draw(results, backends, baseline, plot_dir)}", file=out)
    return 0


def _measure(backend: str, workload: str, config: Config, timeout: float,
             unavailable: dict[str, str]) -> dict[str, float | NA]:
    """One worker process: its metrics, or why it gave none."""
    cmd = [sys.executable, "-m", "fastgrad.bench.worker", backend, workload,
           json.dumps(config.to_dict())]
    env = child_env(pure=backend == "pure")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return _all(workload,
                    NA("timed out", f"{workload} on {backend}: no result in {timeout:g} s"))
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return _all(workload, NA("failed", f"{workload} on {backend}: {last}"))
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    if "unavailable" in answer:
        unavailable[backend] = answer["unavailable"]
        return {}
    cells: dict[str, float | NA] = {k: float(v) for k, v in answer["values"].items()}
    cells.update({k: NA(*v) for k, v in answer["na"].items()})
    return cells


def _all(workload: str, na: NA) -> dict[str, float | NA]:
    return {m.key: na for m in METRICS if m.workload == workload}


def _write_json(path: str, command: str, info: dict, config: Config, results: report.Results,
                unavailable: dict[str, str], target_items: list[report.Target]) -> None:
    def cell(v: float | NA) -> float | dict:
        return v if isinstance(v, float) else {"na": v.short, "detail": v.detail}
    doc = {
        "command": command, "machine": info, "config": config.to_dict(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "metrics": {m.key: {"workload": m.workload, "label": m.label, "unit": m.unit}
                    for m in METRICS if m.key in results},
        "results": {k: {b: cell(v) for b, v in row.items()} for k, row in results.items()},
        "unavailable": unavailable,
        "targets": [dataclasses.asdict(t) for t in target_items],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


class _Status:
    """What is running now, on one rewritten line when stderr is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.live = stream, stream.isatty()

    def show(self, text: str) -> None:
        if self.live:
            self.stream.write(f"\r\x1b[Kbench: {text} ...")
            self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
