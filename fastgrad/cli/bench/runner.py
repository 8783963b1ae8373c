"""Run every workload on every backend, each in a fresh process, and report medians.

Backends: floats (the interpreter's own arithmetic, the floor for per-op figures),
fastgrad (compiled core), fastgrad.pure (FASTGRAD_PURE=1), and micrograd and torch
when they are importable. A backend that cannot run a workload says why in its cell.
Every figure is the median over repeats; the ratio table divides each by the
baseline backend's figure of the same row, measured in the same run.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import subprocess
import sys
import time
from typing import Callable, TextIO

from fastgrad.cli.argtypes import positive_float, positive_int
from fastgrad.cli.bench import report
from fastgrad.cli.bench.measure import NA
from fastgrad.cli.bench.spec import (
    BACKENDS, FLOOR_WORKLOADS, FULL, METRICS, QUICK, REQUIRES, WORKLOADS, Config,
)
from fastgrad.cli.childenv import child_env


def _names(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    """An argparse type for a comma-separated subset of `allowed`."""
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown) or 'empty list'}; choose from {','.join(allowed)}")
        return names
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes and short budgets, under a minute in all "
                             f"(chain {QUICK.chain_ops} ops, {QUICK.budget} s a cell; the "
                             f"default is chain {FULL.chain_ops} ops, {FULL.budget} s a cell)")
    parser.add_argument("--backends", type=_names(BACKENDS), default=list(BACKENDS),
                        metavar="LIST", help=f"comma-separated subset of {','.join(BACKENDS)}")
    parser.add_argument("--workloads", type=_names(WORKLOADS), default=list(WORKLOADS),
                        metavar="LIST", help=f"comma-separated subset of {','.join(WORKLOADS)}")
    parser.add_argument("--baseline", choices=BACKENDS, default="fastgrad",
                        help="backend the ratio table divides by (default fastgrad)")
    parser.add_argument("--size", type=positive_int, metavar="OPS",
                        help="ops in the deep chain and in the memory workload's graph")
    parser.add_argument("--budget", type=positive_float, metavar="SECONDS",
                        help="measuring time per cell, once the minimum repeats are done")
    parser.add_argument("--repeats", type=positive_int, metavar="N",
                        help="minimum repeats per cell (the deep chain takes at most 3)")
    parser.add_argument("--timeout", type=positive_float, default=900.0, metavar="SECONDS",
                        help="give up on a workload's cell after this long (default 900)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.baseline not in args.backends:
        parser.error(f"--baseline {args.baseline} is not among --backends {','.join(args.backends)}")


def run(args: argparse.Namespace) -> int:
    out = sys.stdout  # looked up per call: callers may redirect it
    config = QUICK if args.quick else FULL
    overrides = {"chain_ops": args.size, "budget": args.budget, "min_repeats": args.repeats}
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    backends = [b for b in BACKENDS if b in args.backends]
    workloads = [w for w in WORKLOADS if w in args.workloads]

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
                cells = _measure(backend, workload, config, args.timeout, unavailable)
            for key, cell in cells.items():
                results[key][backend] = cell
    status.close()

    backends = [b for b in backends if any(b in row for row in results.values())]
    info = report.machine()
    target_items = report.targets(results)
    tables = [report.results_table(results, backends)]
    if args.baseline not in unavailable:
        tables.append(report.ratio_table(results, backends, args.baseline))
    if any(t.met is not None for t in target_items):
        tables.append(report.targets_table(target_items))
    print(f"fastgrad bench ({'quick' if args.quick else 'full'}): medians, "
          f"chain {config.chain_ops} ops, {config.budget:g} s a cell", file=out)
    print(f"machine: {info['cpu']}; Python {info['python']}", file=out)
    for backend, why in unavailable.items():
        print(f"not run on {backend}: {why}", file=out)
    for table in tables:
        print("\n" + table.render(args.markdown), file=out)
    if args.json:
        _write_json(args.json, args.command_line, info, config, results, unavailable,
                    target_items)
        print(f"\nresults written to {args.json}", file=out)
    return 0


def _measure(backend: str, workload: str, config: Config, timeout: float,
             unavailable: dict[str, str]) -> dict[str, float | NA]:
    """One worker process: its metrics, or why it gave none."""
    cmd = [sys.executable, "-m", "fastgrad.cli.bench.worker", backend, workload,
           json.dumps(config.to_dict())]
    env = child_env(pure=backend == "pure")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return _all(workload, NA("timed out", f"{workload} on {backend}: no result in {timeout:g} s"))
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
