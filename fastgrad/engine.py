"""The engine in use: the compiled core, or the pure reference under FASTGRAD_PURE=1.

Both export the same names (see fastgrad.pure.engine, the specification):
Value, sum, dot, layer, no_grad, is_grad_enabled, stats, and the bulk kernels
the nn, optim and losses modules call. `backend` says which one is in use, and
`fallback_reason` why it is the pure one (None on the compiled core).
"""
from __future__ import annotations

import builtins
import os
import sys
import warnings
from importlib.machinery import EXTENSION_SUFFIXES
from typing import TYPE_CHECKING

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _has_core(package: str) -> bool:
    return any(os.path.isfile(os.path.join(package, "_core" + s)) for s in EXTENSION_SUFFIXES)


def _missing_core_reason(exc: ImportError) -> str:
    """Why the compiled core did not import, naming the fix.

    The common case is a source checkout (it has _core.pyx) without an in-place build,
    imported because the current directory or PYTHONPATH precedes site-packages,
    possibly shadowing an installed fastgrad that has the core."""
    if _has_core(_PACKAGE) or not os.path.isfile(os.path.join(_PACKAGE, "_core.pyx")):
        return f"the compiled core failed to import ({exc})"
    for entry in sys.path:
        other = os.path.join(os.path.abspath(entry or os.curdir), "fastgrad")
        if os.path.normcase(other) != os.path.normcase(_PACKAGE) and _has_core(other):
            return (f"the source checkout {_PACKAGE}, which has no compiled core, shadows "
                    f"the installed fastgrad in {other} (the current directory or "
                    "PYTHONPATH comes first on sys.path); run from outside the checkout, "
                    "or build the checkout in place with `pip install -e .`")
    return (f"the source checkout {_PACKAGE} has no compiled core; build it in place with "
            "`pip install -e .`")


fallback_reason: str | None
if TYPE_CHECKING:  # both backends have the compiled core's signatures (fastgrad/_core.pyi)
    from fastgrad._core import *  # noqa: F403
    from fastgrad._core import __all__ as _backend_all
    backend: str
elif os.environ.get("FASTGRAD_PURE", "") not in ("", "0"):
    from fastgrad.pure.engine import *  # noqa: F403
    from fastgrad.pure.engine import __all__ as _backend_all
    backend, fallback_reason = "pure", "FASTGRAD_PURE is set in the environment"
else:
    try:
        from fastgrad._core import *  # noqa: F403
        from fastgrad._core import __all__ as _backend_all
        backend, fallback_reason = "fast", None
    except ImportError as exc:  # an install without a compiler: still correct, just slow
        fallback_reason = _missing_core_reason(exc)
        warnings.warn(f"fastgrad: using the pure-Python backend: {fallback_reason}",
                      RuntimeWarning, stacklevel=2)
        from fastgrad.pure.engine import *  # noqa: F403
        from fastgrad.pure.engine import __all__ as _backend_all
        backend = "pure"

# `from fastgrad.engine import *` (micrograd's `from micrograd.engine import *`, one import
# changed) must not shadow a builtin; engine.sum stays reachable by its qualified name
__all__ = [name for name in _backend_all if not hasattr(builtins, name)]
