"""Run fastgrad's command line, or plain python, in a fresh interpreter with this process's
environment (so FASTGRAD_PURE selects the backend under test) and this checkout first on
PYTHONPATH."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fastgrad.cli.common import child_env


def fastgrad_cli(*args: str, timeout: float = 300, cwd: Path | None = None,
                 input: str | None = None) -> subprocess.CompletedProcess:
    """`python -m fastgrad ARGS...`; stdin is `input`, or empty."""
    return python("-m", "fastgrad", *args, timeout=timeout, cwd=cwd, input=input)


def python(*args: str, timeout: float = 300, cwd: Path | None = None,
           input: str | None = None) -> subprocess.CompletedProcess:
    """`python ARGS...`, as the command line above runs it."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          env=child_env(), timeout=timeout, cwd=cwd, input=input or "")
