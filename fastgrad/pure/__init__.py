"""fastgrad's pure-Python backend: the readable reference the compiled core must match."""
from fastgrad.pure.engine import (Value, dot, get_data, get_grad, is_grad_enabled, layer,
                                  no_grad, set_data, set_grad, stats, sum)
from fastgrad.pure import arrays, losses, nn, optim
from fastgrad.pure.arrays import data_array, from_array, grad_array

backend = "pure"
__all__ = [
    "Value", "dot", "is_grad_enabled", "layer", "no_grad", "stats", "sum", "backend",
    "get_data", "set_data", "get_grad", "set_grad", "from_array", "data_array", "grad_array",
    "arrays", "losses", "nn", "optim",
]
