"""fastgrad: micrograd's API on a compiled graph store.

`from fastgrad import Value` in place of `from micrograd.engine import Value`.
FASTGRAD_PURE=1 in the environment selects the pure-Python reference backend.
"""
from fastgrad.engine import Value, backend, dot, is_grad_enabled, layer, no_grad, stats, sum

__version__ = "0.1.0"
__all__ = ["Value", "backend", "dot", "is_grad_enabled", "layer", "no_grad", "stats", "sum"]
