"""`python -m fastgrad bench`: the options of the benchmark suite in fastgrad.bench."""
from __future__ import annotations

import argparse
import dataclasses
from typing import Callable

from fastgrad.bench import plot, runner
from fastgrad.bench.spec import BACKENDS, FULL, QUICK, WORKLOADS, Config
from fastgrad.cli import common

DESCRIPTION = runner.__doc__


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
    parser.add_argument("--size", type=common.positive_int, metavar="OPS",
                        help="ops in the deep chain and in the memory workload's graph")
    parser.add_argument("--budget", type=common.seconds, metavar="SECONDS",
                        help="measuring time per cell, once the minimum repeats are done")
    parser.add_argument("--repeats", type=common.positive_int, metavar="N",
                        help="minimum repeats per cell (the deep chain takes at most 3)")
    parser.add_argument("--timeout", type=common.seconds, default=900.0, metavar="SECONDS",
                        help="give up on a workload's cell after this long (default 900)")
    parser.add_argument("--json", metavar="PATH", type=common.output_file,
                        help="also write the results as JSON to PATH")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--plot", metavar="DIR", type=_plot_directory,
                        help=f"also draw the ratio table as DIR/{plot.CHART} (needs matplotlib)")


def _plot_directory(text: str) -> str:
    try:
        return plot.directory(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _config(args: argparse.Namespace) -> Config:
    overrides = {"chain_ops": args.size, "budget": args.budget, "min_repeats": args.repeats}
    return dataclasses.replace(QUICK if args.quick else FULL,
                               **{k: v for k, v in overrides.items() if v is not None})


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.baseline not in args.backends:
        backends = ",".join(args.backends)
        parser.error(f"--baseline {args.baseline} is not among --backends {backends}")
    if args.plot is not None and not plot.available():
        parser.error("--plot needs matplotlib: pip install matplotlib (the 'plot' extra)")
    budget = _config(args).budget
    if budget >= args.timeout:
        parser.error(f"--timeout {args.timeout:g} leaves no time for a cell's measuring "
                     f"budget of {budget:g} s: every cell would time out")


def run(args: argparse.Namespace) -> int:
    return runner.run(_config(args), [b for b in BACKENDS if b in args.backends],
                      [w for w in WORKLOADS if w in args.workloads], quick=args.quick,
                      baseline=args.baseline,
                      timeout=args.timeout, markdown=args.markdown, json_path=args.json,
                      plot_dir=args.plot, command=args.command_line)
