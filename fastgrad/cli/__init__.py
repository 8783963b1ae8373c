"""fastgrad's command line: the moons demo (default), `run` and `bench`, one module each,
and `common`, what they share."""
from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
Without a command: train micrograd's moons demo (100 samples, MLP(2, [16, 16, 1]),
max-margin loss, L2 1e-4, SGD) on fastgrad, print its progress, final accuracy, time per
step and speed-up over the pure-Python backend, and draw the decision boundary.
"""


USAGE = """
  python -m fastgrad [--steps N] [--seed SEED] [--backend {auto,fast,pure}]
                     [--plot PATH | --no-plot]
  python -m fastgrad run [--compare] [--backend {auto,fast,pure}] SCRIPT.py [ARGS...]
  python -m fastgrad bench [--quick] [--json PATH] [--backends LIST] [--workloads LIST] ..."""


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser (the demo's options) and each command's parser by name."""
    # imported here, not above: the stand-ins `run` serves import fastgrad.cli.common,
    # which must not drag in the commands (nor the bench package, which imports it too)
    from fastgrad.cli import bench, demo, run

    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="python -m fastgrad", usage=USAGE,
                                     description=DESCRIPTION, formatter_class=raw)
    demo.add_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                title="commands (optional; the demo runs without one)")
    run_parser = sub.add_parser("run", prog="python -m fastgrad run", description=run.DESCRIPTION,
                                help="run a micrograd script unedited, on fastgrad")
    run.add_arguments(run_parser)
    bench_parser = sub.add_parser("bench", prog="python -m fastgrad bench",
                                  description=bench.DESCRIPTION, formatter_class=raw,
                                  help="benchmark fastgrad against floats, its pure backend, "
                                       "micrograd and torch")
    bench.add_arguments(bench_parser)
    return parser, {"demo": parser, "run": run_parser, "bench": bench_parser}


def main(argv: list[str] | None = None) -> int:
    """The `fastgrad` console script and `python -m fastgrad`: the exit status."""
    from fastgrad.cli import bench, common, demo, run

    parser, commands = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.command_line = " ".join(["python -m fastgrad", *argv])
    name = args.command or "demo"
    module = {"demo": demo, "run": run, "bench": bench}[name]
    module.check(commands[name], args)
    try:
        return module.run(args)
    except common.BackendUnavailable as exc:
        commands[name].error(f"--backend {args.backend}: {exc}")
