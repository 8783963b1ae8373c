"""The engine in use: the compiled core, or the pure reference under FASTGRAD_PURE=1.

Both export the same names (see fastgrad.pure.engine, the specification):
Value, sum, dot, layer, no_grad, is_grad_enabled, stats, and the bulk kernels
the nn, optim and losses modules call.
"""
import os
import warnings

if os.environ.get("FASTGRAD_PURE", "") not in ("", "0"):
    from fastgrad.pure.engine import *  # noqa: F401,F403
    from fastgrad.pure.engine import __all__
    backend = "pure"
else:
    try:
        from fastgrad._core import *  # noqa: F401,F403
        from fastgrad._core import __all__
        backend = "fast"
    except ImportError as exc:  # an install without a compiler: still correct, just slow
        warnings.warn(
            f"fastgrad: compiled core unavailable ({exc}); using the pure-Python backend",
            RuntimeWarning, stacklevel=2,
        )
        from fastgrad.pure.engine import *  # noqa: F401,F403
        from fastgrad.pure.engine import __all__
        backend = "pure"
