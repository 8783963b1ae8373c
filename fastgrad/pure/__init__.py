"""fastgrad's pure-Python backend: the readable reference the compiled core must match.

engine.py is Value and the backward sweep, fused.py the n-ary nodes and dense layers,
kernels.py the bulk kernels, _ieee.py C's float rules (the compiled side splits alike);
engine.py re-exports the other two, so `fastgrad.pure.engine` is the whole engine.
"""
from fastgrad.pure.engine import Value, is_grad_enabled, no_grad, stats
from fastgrad.pure.fused import dot, layer, sum
from fastgrad.pure.kernels import get_data, get_grad, set_data, set_grad
from fastgrad.pure import arrays, losses, nn, optim
from fastgrad.pure.arrays import data_array, from_array, grad_array

backend = "pure"
__all__ = [
    "Value", "dot", "is_grad_enabled", "layer", "no_grad", "stats", "sum", "backend",
    "get_data", "set_data", "get_grad", "set_grad", "from_array", "data_array", "grad_array",
    "arrays", "losses", "nn", "optim",
]
