"""Environment for the CLI's child interpreters: they must import this very fastgrad."""
from __future__ import annotations

import os

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def child_env(pure: bool | None = None, **extra: str) -> dict[str, str]:
    """os.environ with fastgrad's directory first on PYTHONPATH.

    pure=True sets FASTGRAD_PURE=1, pure=False removes it, None passes it through.
    """
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
    if pure is True:
        env["FASTGRAD_PURE"] = "1"
    elif pure is False:
        env.pop("FASTGRAD_PURE", None)
    return env
