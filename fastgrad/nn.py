"""Neural-network modules with micrograd's API: Module, Neuron, Layer, MLP.

Constructor arguments, call results, parameter order and reprs are micrograd's, and the
initial weights are drawn from Python's `random` in micrograd's order, so after
`random.seed(s)` a model starts from micrograd's weights and follows its loss curve.
The arithmetic is fused: a neuron is one dot-plus-bias node (then its activation), a
Layer or MLP call is one engine call, and `predict` runs a whole array with no graph.
"""
from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence, Sized
from typing import TYPE_CHECKING, Any, Callable, Union

import numpy as np

from fastgrad.checks import check_keys, real_array, reals, wrong_inputs
from fastgrad.checkpoint import read_npz

from .engine import Dense, Network, Value, dot, get_data, mlp_predict, no_grad, set_data, set_grad

__all__ = ["Module", "Neuron", "Layer", "MLP"]

Inputs = Union[Sequence[Any], np.ndarray]

# activation name -> (repr prefix, the Value method applying it; None for linear)
_ACTIVATIONS: dict[str, tuple[str, Callable[[Value], Value] | None]] = {
    "relu": ("ReLU", Value.relu), "tanh": ("Tanh", Value.tanh),
    "sigmoid": ("Sigmoid", Value.sigmoid), "linear": ("Linear", None),
}

# Bumped whenever a Neuron's w, b or nonlin, a Layer's neurons or an MLP's layers are
# assigned or changed in place, so Layers and MLPs know their cached Dense objects (a
# snapshot of the weights) may be stale without re-reading every neuron on each call.
_generation = 0


def _bump() -> None:
    global _generation
    _generation += 1


class _Tracked(list):
    """A neuron's w, a layer's neurons, an MLP's layers: a plain list to its users,
    which also tells the caches above it when it changes in place."""


def _notifying(name: str) -> Callable[..., Any]:
    method = getattr(list, name)

    def mutate(self: _Tracked, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        _bump()
        return result
    mutate.__name__ = name
    return mutate


for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend",
              "insert", "pop", "remove", "clear", "sort", "reverse"):
    setattr(_Tracked, _name, _notifying(_name))


def _tracking_setattr(tracked: tuple[str, ...], watched: tuple[str, ...]) -> Callable[..., None]:
    """A __setattr__ that stores the `tracked` attributes as _Tracked lists and bumps
    the generation when any `watched` attribute is assigned."""
    def __setattr__(self: Module, name: str, value: Any) -> None:
        if name in tracked and type(value) is not _Tracked:
            value = _Tracked(value)
        object.__setattr__(self, name, value)
        if name in watched:
            _bump()
    return __setattr__


def _remembered(owner: Module, collect: Callable[[], list[Value]]) -> list[Value]:
    """A copy of collect()'s parameter list, collected again only once a Neuron, Layer
    or MLP changed (a training loop asks for it several times a step)."""
    generation, params = owner.__dict__.get("_params", (-1, []))
    if generation != _generation:
        params = collect()
        owner.__dict__["_params"] = (_generation, params)
    return list(params)


def _activation(nonlin: Any) -> str:
    """The activation name for micrograd's flag (truthy: ReLU) or a named activation."""
    if isinstance(nonlin, str):
        if nonlin not in _ACTIVATIONS:
            raise ValueError(f"nonlin must be True, False or one of {sorted(_ACTIVATIONS)}, "
                             f"not {nonlin!r}")
        return nonlin
    return "relu" if nonlin else "linear"


def _count(n: Any, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{name} must be a non-negative int, not {n!r}")
    return int(n)


def _inputs(x: Inputs, nin: int, owner: Module) -> Sequence[Any]:
    """x as a sequence of nin numbers or Values; ValueError otherwise."""
    if not isinstance(x, (list, tuple)):
        x = list(x)
    if len(x) != nin:
        raise ValueError(f"{type(owner).__name__} takes {nin} inputs, got {len(x)}")
    return x


def _chain(layers: Sequence[Layer], x: Any) -> Any:
    """Each layer on the last one's output, as micrograd's MLP calls them."""
    for layer in layers:
        x = layer(x)
    return x


class Module:
    """Base class: parameters, gradients, whole-array prediction and checkpoints."""

    if TYPE_CHECKING:  # each model defines its call; the base class, as micrograd's, has none
        def __call__(self, x: Inputs) -> Any: ...

    _no_cache: tuple = (-1, None)  # a cache entry no generation matches

    def __getstate__(self) -> dict[str, Any]:
        # the caches are per process (keyed by its generation counter, which another
        # process may have reached too): a pickle or copy starts with none
        state = {k: v for k, v in self.__dict__.items() if k != "_params"}
        if "_cache" in state:
            state["_cache"] = self._no_cache
        return state

    def zero_grad(self) -> None:
        set_grad(self.parameters(), 0.0)

    def parameters(self) -> list[Value]:
        return []

    def _layer_specs(self) -> list[Dense] | None:
        """The model as dense layers for engine.mlp_predict, or None if it is something else."""
        return None

    def _state_groups(self) -> list[tuple[str, list[Value], tuple[int, ...]]]:
        """(key, parameters, shape) of each state-dict array."""
        ps = self.parameters()
        return [("parameters", ps, (len(ps),))]

    def predict(self, X: Any) -> np.ndarray:
        """The model's outputs for every row of the 2-D array X, recording no graph.

        Returns a float64 array of shape (n,) for a model with one output (as a call
        unwraps it), else (n, outputs). Neuron, Layer and MLP compute it in one engine
        call, bitwise equal to calling the model on each row.
        """
        X = reals(X, "predict")
        if X.ndim != 2:
            raise ValueError(f"predict takes a 2-D array (samples, features), not shape {X.shape}")
        specs = self._layer_specs()
        if specs is not None:
            out = mlp_predict(specs, X)
        else:  # any other Module: its own __call__, one row at a time
            with no_grad():
                rows = [self(row) for row in X.tolist()]
            if not rows:
                return np.empty(0)
            out = np.array([[float(v) for v in r] if isinstance(r, (list, tuple)) else [float(r)]
                            for r in rows], dtype=np.float64)
        return out[:, 0] if out.shape[1] == 1 else out

    def state_dict(self) -> dict[str, np.ndarray]:
        """The parameters' data as named float64 arrays (copies)."""
        return {key: get_data(ps).reshape(shape) for key, ps, shape in self._state_groups()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set the parameters from a state dict with exactly this model's keys and shapes.

        A missing or unexpected key, a shape mismatch or a non-numeric array raises
        before any parameter changes.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        groups = self._state_groups()
        check_keys(state, [key for key, _, _ in groups], owner)
        values = [real_array(state[key], shape, key, owner).ravel() for key, _, shape in groups]
        set_data([p for _, ps, _ in groups for p in ps],
                 np.concatenate(values) if values else np.empty(0))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state dict to `path` (exactly that name) as an .npz archive."""
        # Any: numpy's stub would check each name against savez's own `allow_pickle`
        arrays: dict[str, Any] = self.state_dict()
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    def load(self, path: str | os.PathLike[str]) -> None:
        """Load parameters saved by save(), treating the file as untrusted: its names,
        headers, dtypes and sizes are checked against this model before any data is
        inflated, and never more than the model's size is read. Never unpickles.

        ValueError naming the file for anything wrong with its contents (see
        fastgrad.checkpoint); OSError as open() raises it. On any error the model is
        unchanged.
        """
        shapes = {key: shape for key, _, shape in self._state_groups()}
        self.load_state_dict(read_npz(path, shapes))


class Neuron(Module):
    """act(w . x + b): one fused dot-plus-bias node, then the activation."""

    _act: str  # the activation's name, set with nonlin

    def __init__(self, nin: int, nonlin: bool | str = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(_count(nin, "nin"))]
        self.b = Value(0)
        self.nonlin = nonlin

    _setattr = _tracking_setattr(("w",), ("w", "b", "nonlin"))

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "nonlin":
            object.__setattr__(self, "_act", _activation(value))
        self._setattr(name, value)

    def __call__(self, x: Inputs) -> Value:
        return self._activate(dot(self.w, _inputs(x, len(self.w), self), self.b))

    def _activate(self, out: Value) -> Value:
        apply = _ACTIVATIONS[self._act][1]
        return out if apply is None else apply(out)

    def _zip_call(self, x: Inputs) -> Value:
        """The neuron on as many inputs as both it and x have, as micrograd's zip pairs them
        (how a Layer of mixed neurons calls each)."""
        x = x if isinstance(x, (list, tuple)) else list(x)
        k = min(len(self.w), len(x))
        return self._activate(dot(self.w[:k], x[:k], self.b))

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def _layer_specs(self) -> list[Dense]:
        return [Dense([self.w], [self.b], self._act)]

    def _state_groups(self) -> list[tuple[str, list[Value], tuple[int, ...]]]:
        return [("w", self.w, (len(self.w),)), ("b", [self.b], ())]

    def __repr__(self) -> str:
        return f"{_ACTIVATIONS[self._act][0]}Neuron({len(self.w)})"


class Layer(Module):
    """nout neurons on the same inputs; a call is one call of an engine Dense.

    The Dense is cached, and rebuilt when the neurons or a neuron's w, b or nonlin
    change (assigned or changed in place).
    """

    __setattr__ = _tracking_setattr(("neurons",), ("neurons",))

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(_count(nout, "nout"))]
        self._cache: tuple[int, Dense | None] = self._no_cache

    def _uniform(self) -> Dense | None:
        """The layer as an engine Dense, rebuilt only when a neuron changed; None when its
        neurons differ in activation or input size (no one Dense computes them)."""
        generation, spec = self._cache
        if generation == _generation:
            return spec
        neurons = list(self.neurons)
        acts = {n._act for n in neurons}
        spec = None
        if len(acts) <= 1 and len({len(n.w) for n in neurons}) <= 1:
            spec = Dense([n.w for n in neurons], [n.b for n in neurons],
                         acts.pop() if acts else "linear")
        self._cache = (_generation, spec)
        return spec

    def _spec(self) -> Dense:
        """The layer as one engine Dense (what predict, checkpoints and interop need)."""
        spec = self._uniform()
        if spec is None:
            neurons = list(self.neurons)
            raise ValueError(f"the neurons of a Layer must share one activation and input "
                             f"size, not {sorted({n._act for n in neurons})} and "
                             f"{sorted({len(n.w) for n in neurons})}")
        return spec

    def __call__(self, x: Inputs) -> Value | list[Value]:
        dense = self._uniform()
        if dense is None:  # mixed neurons: each on its own, as micrograd's Layer calls them
            out = [n._zip_call(x) for n in self.neurons]
        elif not dense.nout:  # no neurons: micrograd gives [] whatever the input
            return []
        else:
            out = dense(_inputs(x, dense.nin, self))
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return _remembered(self, lambda: [p for n in self.neurons for p in n.parameters()])

    def _layer_specs(self) -> list[Dense]:
        return [self._spec()]

    def _state_groups(self) -> list[tuple[str, list[Value], tuple[int, ...]]]:
        nin = max(self._spec().nin, 0)  # the neurons' one input size, checked there
        neurons = list(self.neurons)
        return [("weight", [w for n in neurons for w in n.w], (len(neurons), nin)),
                ("bias", [n.b for n in neurons], (len(neurons),))]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Dense layers, ReLU on all but the last, as micrograd's MLP; nonlin names another
    hidden activation (e.g. "tanh")."""

    __setattr__ = _tracking_setattr(("layers",), ("layers",))

    def __init__(self, nin: int, nouts: Sequence[int], nonlin: bool | str = True) -> None:
        try:
            sz = [nin] + list(nouts)
        except TypeError:
            raise TypeError(f"nouts must be a list of layer sizes, not "
                            f"{type(nouts).__name__}") from None
        _activation(nonlin)  # checked even where no hidden layer takes it
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=nonlin if i != len(nouts) - 1 else False)
                       for i in range(len(nouts))]
        # (generation, the layers as one engine Network and its forward, None for no
        # layers, their input count (-1: any), whether they have one output), rebuilt
        # only when a layer changed
        self._cache: tuple[int, Network | None, Callable[[Inputs], list[Value]] | None, int,
                           bool] = self._no_cache

    _no_cache = (-1, None, None, -1, False)

    def __call__(self, x: Inputs) -> Value | list[Value] | Inputs:
        """One engine call for the whole stack (a one-neuron hidden layer passes a list on,
        where micrograd would crash); a single output is unwrapped."""
        generation, _, forward, nin, single = self._cache
        if generation != _generation:
            generation, _, forward, nin, single = self._network()
        if forward is None:  # no layers: the input, as micrograd's
            return x
        try:  # the engine checks the input count: a call that fits pays for no second check
            outs = forward(x)
        except ValueError:
            if isinstance(x, Sized) and nin >= 0 and len(x) != nin:
                raise wrong_inputs(type(self).__name__, nin, len(x)) from None
            raise
        return outs[0] if single else outs

    def parameters(self) -> list[Value]:
        return _remembered(self, lambda: [p for layer in self.layers for p in layer.parameters()])

    def _network(self) -> tuple[int, Network | None, Callable[[Inputs], list[Value]] | None,
                                int, bool]:
        """The cache entry for the layers as they are now."""
        layers = list(self.layers)
        uniform = [layer._uniform() for layer in layers]
        denses = [d for d in uniform if d is not None]
        if len(denses) < len(uniform):  # a layer of mixed neurons: as micrograd's MLP
            self._cache = (_generation, None, lambda x: _chain(layers, x), -1, False)
            return self._cache
        network = Network(denses) if denses else None
        self._cache = (_generation, network, network.forward if network else None,
                       denses[0].nin if denses else -1, bool(denses) and denses[-1].nout == 1)
        return self._cache

    def _layer_specs(self) -> list[Dense]:
        generation, network, _, _, _ = self._cache
        if generation != _generation:
            network = self._network()[1]
        # no Network: no layers, or a mixed one, whose _spec names why it is not dense
        return network.layers if network is not None else [lyr._spec() for lyr in self.layers]

    def _state_groups(self) -> list[tuple[str, list[Value], tuple[int, ...]]]:
        return [(f"layers.{i}.{key}", ps, shape)
                for i, layer in enumerate(self.layers) for key, ps, shape in layer._state_groups()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
