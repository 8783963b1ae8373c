"""For models that outgrow a scalar engine: an MLP to PyTorch or ONNX, and back from PyTorch.

A fastgrad Neuron, Layer or MLP is a stack of dense layers, each with one activation:
- `to_torch(model)`: a `torch.nn.Sequential` of float64 `Linear` layers, each followed by
  `ReLU`, `Tanh` or `Sigmoid` where the layer's neurons have that activation (nothing
  for a linear layer). Its outputs are the model's to rounding (PyTorch sums a neuron in
  another order): 1e-12 relative.
- `from_torch(seq)`: the MLP computing what `seq` computes, for a Sequential of `Linear`
  (bias or not) and `ReLU`/`Tanh`/`Sigmoid`/`Identity` modules whose sizes chain. A
  Neuron or Layer sent through to_torch comes back as a one-layer MLP (whose call
  returns what theirs returns).
- `to_onnx(model, path)`: the model as an ONNX graph (opset 13, IR version 7) of `Gemm`
  and `Relu`/`Tanh`/`Sigmoid` nodes, input "x" of shape (batch, nin) and output "y" of
  shape (batch, nout), in float64, the model's own precision, so onnxruntime matches
  it to rounding as PyTorch does.
Anything else (other modules, activations or Module classes, non-uniform layers, sizes
that do not chain) is refused with an error saying what and where.
torch and onnx are optional: `pip install fastgrad[torch]`, `fastgrad[onnx]`.
"""
from __future__ import annotations

import os
import random
from types import ModuleType
from typing import Any

import numpy as np

from fastgrad._optional import need
from fastgrad.nn import MLP, Module

__all__ = ["to_torch", "from_torch", "to_onnx"]

# fastgrad activation -> the torch.nn module and the ONNX operator applying it
_TORCH = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}
_ONNX = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}

Arrays = tuple[np.ndarray, np.ndarray, str]  # weights (nout, nin), biases (nout,), activation


def _layers(model: Any, who: str) -> list[Arrays]:
    """The model's dense layers as arrays; refused unless it is a non-empty stack of
    layers with neurons whose sizes chain."""
    specs_of = getattr(model, "_layer_specs", None)  # a Module of either backend
    specs = specs_of() if callable(specs_of) else None
    if specs is None:
        raise TypeError(f"{who}: expected a Neuron, Layer or MLP, not {type(model).__name__}")
    if not specs:
        raise ValueError(f"{who}: the model has no layers")
    layers: list[Arrays] = []
    for i, d in enumerate(specs):
        if not d.nout:
            raise ValueError(f"{who}: layer {i} has no neurons")
        W = np.array([[float(w) for w in row] for row in d.weights], dtype=np.float64)
        b = np.array([float(x) for x in d.biases], dtype=np.float64)
        if layers and W.shape[1] != layers[-1][0].shape[0]:
            raise ValueError(f"{who}: layer {i} takes {W.shape[1]} inputs, but layer {i - 1} "
                             f"gives {layers[-1][0].shape[0]}")
        layers.append((W, b, d.act))
    return layers


def to_torch(model: Module) -> Any:
    """The model as a float64 `torch.nn.Sequential` of Linear layers and activations."""
    torch = need("torch", "torch", "to_torch")
    modules = []
    for W, b, act in _layers(model, "to_torch"):
        # skip_init: the weights are ours, so torch's random stream is left untouched
        linear = torch.nn.utils.skip_init(torch.nn.Linear, W.shape[1], W.shape[0],
                                          dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
        if act != "linear":
            modules.append(getattr(torch.nn, _TORCH[act])())
    return torch.nn.Sequential(*modules)


def _torch_layers(torch: ModuleType, seq: Any) -> list[list[Any]]:
    """[weights, biases, activation] per Linear of seq, checked module by module."""
    acts = {getattr(torch.nn, name): act for act, name in _TORCH.items()}
    layers: list[list[Any]] = []
    for i, m in enumerate(seq):
        kind = type(m)  # exact types: a subclass may compute something else
        if kind is torch.nn.Linear:
            if not m.weight.is_floating_point():
                raise ValueError(f"from_torch: module {i} (Linear) has dtype {m.weight.dtype}")
            W = m.weight.detach().to("cpu", torch.float64).numpy()
            b = (np.zeros(W.shape[0]) if m.bias is None
                 else m.bias.detach().to("cpu", torch.float64).numpy())
            if layers and W.shape[1] != layers[-1][0].shape[0]:
                raise ValueError(f"from_torch: module {i} (Linear) takes {W.shape[1]} inputs, "
                                 f"but the layer before gives {layers[-1][0].shape[0]}")
            layers.append([W, b, "linear"])
        elif kind in acts:
            if not layers or layers[-1][2] != "linear":
                raise ValueError(f"from_torch: module {i} ({kind.__name__}) does not follow a "
                                 f"Linear layer directly: one activation per layer")
            layers[-1][2] = acts[kind]
        elif kind is not torch.nn.Identity:
            raise ValueError(f"from_torch: module {i} is a {kind.__name__}; only Linear, "
                             f"{', '.join(_TORCH.values())} and Identity convert")
    if not layers:
        raise ValueError("from_torch: no Linear layer")
    return layers


def from_torch(seq: Any) -> MLP:
    """The MLP computing what the `torch.nn.Sequential` seq computes."""
    torch = need("torch", "torch", "from_torch")
    if not isinstance(seq, torch.nn.Sequential):
        raise TypeError(f"from_torch: expected a torch.nn.Sequential, not {type(seq).__name__}")
    layers = _torch_layers(torch, seq)
    stream = random.getstate()  # MLP draws initial weights; ours replace them
    try:
        model = MLP(layers[0][0].shape[1], [W.shape[0] for W, _, _ in layers])
    finally:
        random.setstate(stream)
    model.load_state_dict({f"layers.{i}.{key}": array for i, (W, b, _) in enumerate(layers)
                           for key, array in (("weight", W), ("bias", b))})
    for layer, (_, _, act) in zip(model.layers, layers):
        for neuron in layer.neurons:  # micrograd's flag where it names the activation
            neuron.nonlin = {"relu": True, "linear": False}.get(act, act)
    return model


def to_onnx(model: Module, path: str | os.PathLike[str]) -> Any:
    """Write the model to `path` as a float64 ONNX graph; returns the onnx.ModelProto."""
    onnx = need("onnx", "onnx", "to_onnx")
    from onnx import TensorProto, helper, numpy_helper
    layers = _layers(model, "to_onnx")
    nodes, weights = [], []
    x = "x"
    for i, (W, b, act) in enumerate(layers):
        names = [f"layers.{i}.weight", f"layers.{i}.bias"]
        weights += [numpy_helper.from_array(a, n) for a, n in zip((W, b), names)]
        last = i == len(layers) - 1
        y = "y" if last and act == "linear" else f"layers.{i}.linear"
        nodes.append(helper.make_node("Gemm", [x] + names, [y], name=f"layers.{i}.gemm",
                                      transB=1))
        if act != "linear":
            x, y = y, "y" if last else f"layers.{i}.{act}"
            nodes.append(helper.make_node(_ONNX[act], [x], [y], name=f"layers.{i}.{act}"))
        x = y
    nin, nout = layers[0][0].shape[1], layers[-1][0].shape[0]
    graph = helper.make_graph(
        nodes, "fastgrad", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["batch", nin])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["batch", nout])], weights)
    proto = helper.make_model(graph, producer_name="fastgrad", ir_version=7,
                              opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(proto)
    onnx.save(proto, os.fspath(path))
    return proto
