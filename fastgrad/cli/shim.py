"""Serve `import micrograd` (and micrograd.engine, micrograd.nn) from fastgrad."""
from __future__ import annotations

import sys
import types


def serve_micrograd(engine: types.ModuleType, nn: types.ModuleType) -> None:
    """Alias micrograd's modules to fastgrad's in sys.modules, before the script imports.

    micrograd's package is just these two modules, with the same names inside
    (engine.Value; nn.Module, Neuron, Layer, MLP), so aliases suffice: no import hook.
    """
    package = types.ModuleType("micrograd", "fastgrad, standing in for micrograd")
    package.__path__ = []  # a package: submodule imports are looked up in sys.modules
    package.engine = engine
    package.nn = nn
    sys.modules.update({"micrograd": package, "micrograd.engine": engine, "micrograd.nn": nn})
