"""Run one backend-neutral module's source against another backend's engine.

fastgrad/nn.py, optim.py and losses.py import their kernels as `from .engine import ...`.
Executed as `fastgrad.nn` they use whichever engine `fastgrad.engine` selected; executed
by `fastgrad.pure.nn` (through `bind`) the same source uses `fastgrad.pure.engine`.
One source, so the two backends cannot drift apart.
"""
import os
from typing import Any


def bind(namespace: dict[str, Any], source_module: str) -> None:
    """Execute fastgrad/<source_module>.py in `namespace` (a module of fastgrad.pure)."""
    path = os.path.join(os.path.dirname(__file__), source_module + ".py")
    with open(path, encoding="utf-8") as f:
        code = compile(f.read(), path, "exec")
    exec(code, namespace)  # noqa: S102 - our own file, bound to the pure package
