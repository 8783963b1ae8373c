"""micrograd.nn under `python -m fastgrad run`: fastgrad's layers, with the names
micrograd's module has (so `from micrograd.nn import *` gives the same names)."""
import random  # noqa: F401 - micrograd.nn has it

from micrograd.engine import Value  # noqa: F401 - micrograd.nn has it
from fastgrad.cli.common import served_modules as _served_modules

_nn = _served_modules()[1]
Module, Neuron, Layer, MLP = _nn.Module, _nn.Neuron, _nn.Layer, _nn.MLP
del _served_modules, _nn
