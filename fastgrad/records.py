"""What a fused MLP call node keeps of its hidden layers, as both backends give it
(`mlp_record`): the hidden neurons micrograd's unfused graph would have as nodes,
with the data and grads those nodes would hold, so they can be read and drawn.
"""
from __future__ import annotations

from typing import Any, NamedTuple

class HiddenNeuron(NamedTuple):
    """One hidden neuron: its weights and bias (each a Value, or the constant there),
    its dot node's data and grad (bias + w0*x0 + w1*x1 + ...), and its activation
    node's data and grad (a linear neuron's: its dot's again)."""
    weights: tuple[Any, ...]
    bias: Any
    dot: float
    dot_grad: float
    data: float
    grad: float


class HiddenLayer(NamedTuple):
    """A hidden layer: its activation (a name of checks.ACTIVATIONS) and its neurons."""
    act: str
    neurons: tuple[HiddenNeuron, ...]


class MlpRecord(NamedTuple):
    """A fused call's inputs (each a Value, or the constant there) and hidden layers."""
    inputs: tuple[Any, ...]
    layers: tuple[HiddenLayer, ...]

