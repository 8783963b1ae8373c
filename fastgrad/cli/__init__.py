"""fastgrad's command line: the moons demo (default), `run` and `bench`."""
from __future__ import annotations

import argparse
import sys

from fastgrad.cli import demo, run
from fastgrad.cli.backends import BackendUnavailable
from fastgrad.cli.bench import runner as bench

DESCRIPTION = """\
Without a command: train micrograd's moons demo (100 samples, MLP(2, [16, 16, 1]),
max-margin loss, L2 1e-4, SGD) on fastgrad, print its progress, final accuracy, time per
step and speed-up over the pure-Python backend, and draw the decision boundary.
"""


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(prog="python -m fastgrad", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                title="commands (optional; the demo runs without one)")
    commands = {"demo": parser}
    p = sub.add_parser("run", help="run a micrograd script unedited, on fastgrad",
                       description=run.__doc__)
    run.add_arguments(p)
    commands["run"] = p
    p = sub.add_parser("bench", help="benchmark fastgrad against floats, its pure backend, "
                                     "micrograd and torch", description=bench.__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_arguments(p)
    commands["bench"] = p
    return parser, commands


def main(argv: list[str] | None = None) -> int:
    parser, commands = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    args.command_line = " ".join(["python -m fastgrad", *argv])
    name = args.command or "demo"
    module = {"demo": demo, "run": run, "bench": bench}[name]
    module.check(commands[name], args)
    try:
        return module.run(args)
    except BackendUnavailable as exc:
        commands[name].error(f"--backend {args.backend}: {exc}")

