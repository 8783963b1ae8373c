"""Run a micrograd script as `python SCRIPT.py` would, its micrograd imports served by fastgrad."""
from __future__ import annotations

import os
import runpy
import sys
from types import ModuleType

from fastgrad.cli.shim import serve_micrograd


def run_script(path: str, args: list[str], modules: tuple[ModuleType, ModuleType] | None) -> None:
    """Run `path` as __main__ with sys.argv = [path, *args].

    modules is fastgrad's (engine, nn) to serve as micrograd, or None to leave
    `import micrograd` to whatever is installed. The script's SystemExit and
    exceptions propagate, so the process ends as `python SCRIPT.py` would.
    """
    if modules is not None:
        serve_micrograd(*modules)
    sys.argv = [path, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))  # as python does for a script
    runpy.run_path(path, run_name="__main__")
