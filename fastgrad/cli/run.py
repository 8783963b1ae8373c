"""`python -m fastgrad run [--compare] SCRIPT.py [ARGS...]`: a micrograd script, unedited.

The script runs as `python SCRIPT.py` would run it (its own __main__, sys.argv, sys.path[0],
absolute __file__, tracebacks of its own frames only), with `import micrograd` (and
neurogebra's Value) served by fastgrad. `--compare` runs it twice more in child
interpreters of this module (`python -m fastgrad.cli.run ENGINE TIMEFILE SCRIPT ARGS...`),
once on fastgrad and once on the real micrograd, and compares what they print.
"""
from __future__ import annotations

import argparse
import builtins
import codecs
import contextlib
import importlib.util
import locale
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
from typing import IO, TextIO

from fastgrad.cli import common

# 1e-9 relative: micrograd accumulates gradients in set-iteration order, so its numbers
# differ from fastgrad's by reassociation (about 1e-16 an operation) and training steps
# amplify that; 1e-9 still tells a wrong loss curve from a reordered one.
REL_TOL = 1e-9

DESCRIPTION = """Run a micrograd script unedited, as `python SCRIPT.py` runs it: its imports
of micrograd, micrograd.engine and micrograd.nn (and neurogebra.core.autograd's Value) are
served by fastgrad. Options go before SCRIPT.py; everything after it is the script's own
sys.argv[1:]."""

# Packages standing in for micrograd and neurogebra: one directory of plain source files.
STAND_INS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stand_ins")
SERVED = ("micrograd", "neurogebra")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = ("%(prog)s [-h] [--backend {" + ",".join(common.BACKEND_CHOICES) + "}] "
                    "[--compare] SCRIPT.py [ARGS ...]")
    parser.add_argument("--backend", choices=common.BACKEND_CHOICES, default="auto",
                        help="fastgrad engine serving micrograd (default auto: what "
                             "`import fastgrad` picks; FASTGRAD_PURE=1 selects pure)")
    parser.add_argument("--compare", action="store_true",
                        help="also run the script under the real micrograd package, each "
                             "run in its own process with the same standard input; print "
                             "both wall times, their ratio, and whether the printed output "
                             "agrees: identically, or every number within "
                             f"{REL_TOL:g} relative (micrograd sums gradients in another "
                             "order). Exit status 1 if it does not")
    parser.add_argument("script", metavar="SCRIPT.py", help="the micrograd script to run")
    rest = parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                               help="arguments for the script, passed on as its sys.argv[1:]")
    rest.required = False  # argparse marks a REMAINDER positional required, and says so


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not os.path.isfile(args.script):
        parser.error(f"run: no such script: {args.script}")


def run(args: argparse.Namespace) -> int:
    used = common.name(common.modules(args.backend)[0])  # refused here if unavailable
    if not args.compare:
        if used == "pure":  # the stand-ins (and any child interpreter) read the environment
            os.environ["FASTGRAD_PURE"] = "1"
        return run_script(args.script, args.args, serve=True)
    return _compare(args, used)


# -- running a script as Python does ----------------------------------------------------

def serve_stand_ins() -> None:
    """Make `import micrograd` (and neurogebra) load the stand-ins, in this process and in
    the script's multiprocessing workers.

    A finder puts the stand-ins ahead of a micrograd beside the script; the directory on
    sys.path carries them into spawned workers, which copy the parent's sys.path. Each
    stand-in package extends its __path__ over sys.path, so submodules micrograd has not
    (a fork's micrograd/graph.py) still load from wherever they are.
    """
    if not any(isinstance(f, _StandInFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _StandInFinder())
    if STAND_INS not in sys.path:
        sys.path.insert(1 if sys.path else 0, STAND_INS)  # after the script's directory


class _StandInFinder:
    """Finds the served top-level packages in STAND_INS; everything else is left alone."""

    @staticmethod
    def find_spec(name: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> ModuleSpec | None:
        return PathFinder.find_spec(name, [STAND_INS]) if name in SERVED else None


def run_script(path: str, args: list[str], serve: bool) -> int:
    """Run `path` as the __main__ module with sys.argv = [path, *args]; the exit status.

    serve=False leaves `import micrograd` to whatever is installed. The script's
    SystemExit propagates; any other uncaught exception goes to sys.excepthook with the
    script's frames only (none for a SyntaxError in its source, as python prints it),
    and the status is 1.
    """
    script = os.path.abspath(path)  # as python makes __file__ and code paths since 3.9
    with open(script, "rb") as f:
        source = f.read()
    sys.path.insert(0, os.path.dirname(script))
    if serve:
        serve_stand_ins()
    sys.argv = [path, *args]
    main = types.ModuleType("__main__")
    main.__file__ = script
    main.__loader__ = SourceFileLoader("__main__", script)
    # attributes typeshed's ModuleType lacks, set in its namespace: __builtins__ is the
    # module, as in python's __main__ (exec would put its dict)
    main.__dict__.update(__cached__=None, __builtins__=builtins)
    sys.modules["__main__"] = main  # for pickle and multiprocessing, as under python
    try:
        exec(compile(source, script, "exec", dont_inherit=True), main.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: B902 - reported as the interpreter would
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:
            tb = tb.tb_next  # drop this module's frames: the script's come first
        # the default hook prints the exception's own __traceback__: it must be the trimmed one
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1  # 130: the shell's ^C status
    return 0


# -- --compare --------------------------------------------------------------------------

def _compare(args: argparse.Namespace, used: str) -> int:
    out = sys.stdout  # looked up per call: callers may redirect it
    stdin = _StdinCopy()
    ours = _timed_child("fastgrad", args, used == "pure", stdin, echo=out)
    if ours.returncode != 0:
        return ours.returncode
    print(f"\n--- compare: {args.script} ---", file=out)
    print(f"fastgrad ({used} backend): {common.duration(ours.seconds)}", file=out)
    if importlib.util.find_spec("micrograd") is None:
        print("micrograd: not installed (pip install micrograd), nothing to compare", file=out)
        return 0
    theirs = _timed_child("micrograd", args, None, stdin, echo=None)
    if theirs.returncode != 0:
        last = (theirs.stderr.strip().splitlines() or ["(no message)"])[-1]
        print(f"micrograd: failed with exit status {theirs.returncode}: {last}", file=out)
        return 1
    print(f"micrograd: {common.duration(theirs.seconds)}", file=out)
    speedup = theirs.seconds / ours.seconds
    print(f"ratio: fastgrad is {speedup:.3g}x faster" if speedup >= 1 else
          f"ratio: fastgrad is {1 / speedup:.3g}x slower", file=out)
    verdict = compare_outputs(ours.stdout, theirs.stdout)
    print(f"output: {verdict.verdict} ({verdict.detail})", file=out)
    return 0 if verdict.verdict != "differ" else 1


class _StdinCopy:
    """This process's standard input, for two children in turn: the first reads it live
    (a thread forwards what arrives), the second gets every byte the first was offered.
    Nothing is read before the first child runs, so a stdin that never ends cannot hang."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.lock = threading.Lock()

    def feed(self, child_stdin: IO[bytes]) -> None:
        """Forward stdin to child_stdin from a daemon thread, keeping a copy."""
        def forward() -> None:
            try:
                while chunk := os.read(sys.stdin.fileno(), 1 << 16):
                    with self.lock:
                        self.chunks.append(chunk)
                    child_stdin.write(chunk)
                    child_stdin.flush()
            except (OSError, ValueError, AttributeError):  # no stdin, or the child quit
                pass
            finally:
                with contextlib.suppress(OSError):
                    child_stdin.close()
        threading.Thread(target=forward, daemon=True).start()

    def recorded(self) -> bytes:
        with self.lock:
            return b"".join(self.chunks)


@dataclass
class _ChildResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float  # the script's own wall time, measured in the child


def _timed_child(engine: str, args: argparse.Namespace, pure: bool | None, stdin: _StdinCopy,
                 echo: TextIO | None) -> _ChildResult:
    """Run the script in a fresh interpreter. With echo, it reads this process's stdin and
    its stdout streams to echo (its stderr goes straight through); without, it gets what
    the first child was offered and everything is captured."""
    encoding = locale.getpreferredencoding(False)  # what the child writes to a pipe in
    with tempfile.TemporaryDirectory() as tmp:
        time_file = os.path.join(tmp, "seconds")
        cmd = [sys.executable, "-m", "fastgrad.cli.run", engine, time_file, args.script,
               *args.args]
        env = common.child_env(pure=pure, PYTHONUNBUFFERED="1")
        if echo is None:
            proc = subprocess.run(cmd, input=stdin.recorded(), capture_output=True, env=env)
            returncode = proc.returncode
            stdout = proc.stdout.decode(encoding, "replace")
            stderr = proc.stderr.decode(encoding, "replace")
        else:
            with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  env=env) as child:
                assert child.stdin is not None and child.stdout is not None  # both pipes
                stdin.feed(child.stdin)
                decoder = codecs.getincrementaldecoder(encoding)("replace")
                parts = []
                # chunks, not lines: a prompt without a newline shows as it is written
                while chunk := os.read(child.stdout.fileno(), 1 << 16):
                    parts.append(decoder.decode(chunk))
                    echo.write(parts[-1])
                    echo.flush()
                parts.append(decoder.decode(b"", final=True))
            returncode, stdout, stderr = child.returncode, "".join(parts), ""
        seconds = math.nan
        if os.path.exists(time_file):
            with open(time_file, encoding="utf-8") as f:
                seconds = float(f.read())
    return _ChildResult(returncode, stdout, stderr, seconds)


@dataclass
class Agreement:
    verdict: str  # "identical", "close" (numbers within REL_TOL) or "differ"
    detail: str


_NUMBER = re.compile(r"([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)\b)")


def compare_outputs(ours: str, theirs: str, rel_tol: float = REL_TOL) -> Agreement:
    """Do two programs' printed outputs agree? Exactly, or number by number within rel_tol."""
    if ours == theirs:
        return Agreement("identical", f"{len(ours.splitlines())} lines, byte for byte")
    a_lines, b_lines = ours.splitlines(), theirs.splitlines()
    if len(a_lines) != len(b_lines):
        return Agreement("differ", f"{len(a_lines)} lines against {len(b_lines)}")
    worst, inexact = 0.0, 0
    for n, (a, b) in enumerate(zip(a_lines, b_lines), 1):
        a_parts, b_parts = _NUMBER.split(a), _NUMBER.split(b)
        # split() with a group alternates text, number, text, ...: odd indices are numbers
        if len(a_parts) != len(b_parts) or a_parts[::2] != b_parts[::2]:
            return Agreement("differ", f"line {n}: {a!r} against {b!r}")
        for x, y in zip(a_parts[1::2], b_parts[1::2]):
            rel = _relative_difference(float(x), float(y))
            if rel > rel_tol:
                return Agreement("differ", f"line {n}: {x} against {y} "
                                           f"(relative difference {rel:.1e})")
            inexact += x != y
            worst = max(worst, rel)
    return Agreement("close", f"{len(a_lines)} lines; {inexact} numbers printed differently, "
                              f"largest relative difference {worst:.1e} (tolerance {rel_tol:g})")


def _relative_difference(x: float, y: float) -> float:
    if x == y or (math.isnan(x) and math.isnan(y)):
        return 0.0
    return abs(x - y) / max(abs(x), abs(y))


def _timed_main(argv: list[str]) -> int:
    """A --compare child: ENGINE ("fastgrad" or "micrograd") TIMEFILE SCRIPT [ARGS...]."""
    engine, time_file, script, *args = argv
    t0 = time.perf_counter()
    try:
        return run_script(script, args, serve=engine == "fastgrad")
    finally:
        with open(time_file, "w", encoding="utf-8") as f:
            f.write(repr(time.perf_counter() - t0))


if __name__ == "__main__":
    sys.exit(_timed_main(sys.argv[1:]))
