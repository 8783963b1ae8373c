"""Child process of `run --compare`: run a script on one engine, write its wall time.

    python -m fastgrad.cli.timed ENGINE TIMEFILE SCRIPT [ARGS...]

ENGINE is "micrograd" (the real package, nothing served) or a fastgrad backend name.
"""
from __future__ import annotations

import sys
import time

from fastgrad.cli import backends
from fastgrad.cli.script import run_script


def main(argv: list[str]) -> None:
    engine, time_file, script, *args = argv
    modules = None if engine == "micrograd" else backends.modules(engine)
    t0 = time.perf_counter()
    try:
        run_script(script, args, modules)
    finally:
        with open(time_file, "w", encoding="utf-8") as f:
            f.write(repr(time.perf_counter() - t0))


if __name__ == "__main__":
    main(sys.argv[1:])
