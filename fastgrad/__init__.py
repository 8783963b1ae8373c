"""fastgrad: micrograd's API on a compiled graph store.

`from fastgrad import Value` in place of `from micrograd.engine import Value`.
FASTGRAD_PURE=1 in the environment selects the pure-Python reference backend.
"""
from fastgrad.engine import (Value, backend, dot, get_data, get_grad, is_grad_enabled, layer,
                             no_grad, set_data, set_grad, stats, sum)
from fastgrad import arrays, datasets, losses, nn, optim  # noqa: E402 - after the engine
from fastgrad.arrays import data_array, from_array, grad_array
from fastgrad.viz import draw_dot
from fastgrad.compiled import compile  # noqa: A004 - fastgrad.compile, not in __all__

__version__ = "0.1.0"
# `from fastgrad import *` must not shadow a builtin: fastgrad.sum and fastgrad.compile
# stay qualified
__all__ = [
    "Value", "backend", "dot", "is_grad_enabled", "layer", "no_grad", "stats",
    "get_data", "set_data", "get_grad", "set_grad", "from_array", "data_array", "grad_array",
    "arrays", "datasets", "losses", "nn", "optim", "draw_dot",
]
