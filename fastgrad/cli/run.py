"""`python -m fastgrad run [--compare] SCRIPT.py [ARGS...]`: a micrograd script, unedited."""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import TextIO

from fastgrad.cli import agreement, backends
from fastgrad.cli.childenv import child_env
from fastgrad.cli.script import run_script
from fastgrad.cli.units import duration

DESCRIPTION = """Run a micrograd script unedited: its imports of micrograd, micrograd.engine
and micrograd.nn are served by fastgrad. Options go before SCRIPT.py; everything after it
is the script's own sys.argv[1:]."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=backends.BACKEND_CHOICES, default="auto",
                        help="fastgrad engine serving micrograd (default auto: what "
                             "`import fastgrad` picks; FASTGRAD_PURE=1 selects pure)")
    parser.add_argument("--compare", action="store_true",
                        help="also run the script under the real micrograd package, each "
                             "run in its own process; print both wall times, their ratio, "
                             "and whether the printed output agrees: identically, or every "
                             f"number within {agreement.REL_TOL:g} relative (micrograd sums "
                             "gradients in another order). Exit status 1 if it does not")
    parser.add_argument("script", metavar="SCRIPT.py", help="the micrograd script to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                        help="arguments for the script, passed on as its sys.argv[1:]")


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not os.path.isfile(args.script):
        parser.error(f"run: no such script: {args.script}")


def run(args: argparse.Namespace) -> int:
    out = sys.stdout  # looked up per call: callers may redirect it
    if not args.compare:
        run_script(args.script, args.args, backends.modules(args.backend))
        return 0
    modules = backends.modules(args.backend)  # fail here, not in the child, if unavailable
    ours = _timed_child(backends.name(modules[0]), args, echo=out)
    if ours.returncode != 0:
        return ours.returncode
    print(f"\n--- compare: {args.script} ---", file=out)
    print(f"fastgrad ({backends.name(modules[0])} backend): {duration(ours.seconds)}", file=out)
    if importlib.util.find_spec("micrograd") is None:
        print("micrograd: not installed (pip install micrograd), nothing to compare", file=out)
        return 0
    theirs = _timed_child("micrograd", args, echo=None)
    if theirs.returncode != 0:
        last = (theirs.stderr.strip().splitlines() or ["(no message)"])[-1]
        print(f"micrograd: failed with exit status {theirs.returncode}: {last}", file=out)
        return 1
    print(f"micrograd: {duration(theirs.seconds)}", file=out)
    speedup = theirs.seconds / ours.seconds
    print(f"ratio: fastgrad is {speedup:.3g}x faster" if speedup >= 1 else
          f"ratio: fastgrad is {1 / speedup:.3g}x slower", file=out)
    verdict = agreement.compare(ours.stdout, theirs.stdout)
    print(f"output: {verdict.verdict} ({verdict.detail})", file=out)
    return 0 if verdict.verdict != "differ" else 1


@dataclass
class _ChildResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float  # the script's own wall time, measured in the child


def _timed_child(engine: str, args: argparse.Namespace, echo: TextIO | None) -> _ChildResult:
    """Run the script in a fresh interpreter; stream its stdout to `echo` when given."""
    with tempfile.TemporaryDirectory() as tmp:
        time_file = os.path.join(tmp, "seconds")
        cmd = [sys.executable, "-m", "fastgrad.cli.timed", engine, time_file, args.script,
               *args.args]
        env = child_env(PYTHONUNBUFFERED="1")
        if echo is None:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            stdout, stderr = proc.stdout, proc.stderr
        else:  # stream the output as it comes; the child's stderr goes straight through
            with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) as child:
                lines = []
                for line in child.stdout:
                    lines.append(line)
                    echo.write(line)
                    echo.flush()
            proc, stdout, stderr = child, "".join(lines), ""
        seconds = float("nan")
        if os.path.exists(time_file):
            with open(time_file, encoding="utf-8") as f:
                seconds = float(f.read())
    return _ChildResult(proc.returncode, stdout, stderr, seconds)

