"""fastgrad's pure-Python backend: the readable reference the compiled core must match."""
from fastgrad.pure.engine import Value, dot, is_grad_enabled, layer, no_grad, stats, sum

backend = "pure"
__all__ = ["Value", "dot", "is_grad_enabled", "layer", "no_grad", "stats", "sum", "backend"]
