"""Checks of what users hand in, with their messages, in one place: both engines (the
compiled facade and the pure twin) and the backend-neutral modules call these, so a
bad argument raises the same error whichever backend runs.

Checks on a hot path come as a test the caller makes inline and a function building
the exception (`bad_label`, `wrong_inputs`, `not_a_value`), so passing costs no call.
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

# -- numbers -------------------------------------------------------------------------

# Whether float() of a type's values is the number Python arithmetic would use: decided
# once per type, since the ABC checks cost more than the arithmetic they guard.
_REAL_TYPES: dict[type, bool] = {}


def is_real_type(t: type) -> bool:
    """False for str and bytes (float() parses them), complex numbers, and what has
    neither __float__ nor __index__."""
    known = _REAL_TYPES.get(t)
    if known is None:
        known = _REAL_TYPES[t] = not (
            issubclass(t, (str, bytes, bytearray))
            or (issubclass(t, numbers.Complex) and not issubclass(t, numbers.Real))
            or not (hasattr(t, "__float__") or hasattr(t, "__index__")))
    return known


def as_float(x: Any, what: str = "a Value") -> float:
    """The float Python arithmetic would use for x; TypeError if it is no real number."""
    if isinstance(x, float):
        return float(x)
    if not is_real_type(type(x)):
        raise TypeError(f"{what} needs a real number, not {type(x).__name__}")
    return float(x)


def is_int(x: Any) -> bool:
    """An int or numpy integer, and not a bool (True is no count or index)."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def count(n: Any, what: str, minimum: int = 0) -> int:
    """n as an int >= minimum; ValueError otherwise."""
    if not is_int(n) or n < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, not {n!r}")
    return int(n)


# -- nodes ---------------------------------------------------------------------------

MAX_NODES = 2 ** 31 - 2  # the compiled store's most: int32 slots, slot 0 meaning no node
NO_ROOM = "fastgrad: no room for another node (out of memory or at the node limit)"


def bad_label(value: Any) -> TypeError:
    """The error for a label that is no str (the caller tests: a Value is made often)."""
    return TypeError(f"label must be a str, not {type(value).__name__}")


def label(value: Any) -> str:
    """value as a plain str (a str subclass copied: the compiled core drops a label as its
    node dies, in the middle of a release, where no user __del__ may run)."""
    if type(value) is str:
        return value
    if not isinstance(value, str):
        raise bad_label(value)
    return str.__str__(value)


def children(kids: Any) -> tuple[Any, ...]:
    """Value(data, _children, _op)'s children as a tuple (each backend checks that they
    are Values: not_a_child); TypeError if they are not iterable (None, a number)."""
    try:
        it = iter(kids)
    except TypeError:
        raise TypeError("Value: _children must be an iterable of Values, not "
                        f"{type(kids).__name__}") from None
    return tuple(it)


def not_a_child(x: Any) -> TypeError:
    """The error for a child of Value(data, _children, _op) that is no Value."""
    return TypeError(f"Value: _children must hold Values only, not {type(x).__name__}")


def bad_op(value: Any) -> TypeError:
    """The error for an _op that is no str."""
    return TypeError(f"Value: _op must be a str, not {type(value).__name__}")


def custom_reinit() -> TypeError:
    """The error for __init__ run again on a Value where either the old or the new
    node is a custom one (its closure and its users are tied to the node)."""
    return TypeError("Value.__init__: a custom node (made with _children or _op) "
                     "cannot be made again, nor a Value made again into one")


def custom_type(t: type) -> TypeError:
    """The error for a custom node made on a facade that cannot keep its closure (on
    the compiled core: Value.__new__ then __init__, or a subclass with no __dict__)."""
    return TypeError(f"Value(data, _children, _op): a custom node is made by calling "
                     f"Value or a subclass of it with a __dict__, not {t.__name__}.__new__")


def not_custom(v: Any) -> AttributeError:
    """The error for assigning _backward to a node that is no custom node."""
    return AttributeError(
        "_backward can be set only on a custom node, one made with "
        "Value(data, _children, _op); a leaf or a built-in op's node keeps its own")


def pow_label(c: float) -> str:
    """The op label of `x ** c`, c folded into the node: `**2`, or `**0.5`."""
    return f"**{int(c)}" if c.is_integer() and abs(c) < 2.0 ** 53 else f"**{c}"


def node_limit(limit: int | None) -> int:
    """set_node_limit's argument as the cap to store: None is no cap beyond the ids'."""
    if limit is not None and not is_int(limit):  # nan, 2.5, "3": no count
        raise TypeError(f"node limit must be an int or None, not {limit!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"node limit must be >= 0 or None, not {limit}")
    return MAX_NODES if limit is None else min(limit, MAX_NODES)


def dot_operands(ws: Iterable[Any], xs: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """dot's weights and inputs as lists of the same length."""
    wl, xl = list(ws), list(xs)
    if len(wl) != len(xl):
        raise ValueError(f"dot: {len(wl)} weights but {len(xl)} inputs")
    return wl, xl


# -- dense layers --------------------------------------------------------------------

# The activations a dense layer applies; "linear" is none (the neuron's dot is its output).
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")


def activation(act: Any) -> str:
    """act, if it names an activation."""
    if not isinstance(act, str):
        raise TypeError(f"act must be a str, not {type(act).__name__}")
    if act not in ACTIVATIONS:
        raise ValueError(f"unknown activation {act!r}; use one of {sorted(ACTIVATIONS)}")
    return act


def dense_rows(weights: Iterable[Sequence[Any]], biases: Iterable[Any]
               ) -> tuple[list[list[Any]], list[Any], int]:
    """A dense layer's weight rows and biases as new lists, and its input count: the
    length every row shares, or -1 for a layer without neurons (any input fits)."""
    wl = [list(w) for w in weights]
    bl = list(biases)
    if len(wl) != len(bl):
        raise ValueError(f"Dense: {len(wl)} weight rows but {len(bl)} biases")
    nin = len(wl[0]) if wl else -1
    for j, w in enumerate(wl):
        if len(w) != nin:
            raise ValueError(f"Dense: row {j} has {len(w)} weights, row 0 {nin}")
    return wl, bl, nin


def wrong_inputs(who: str, nin: int, n: int) -> ValueError:
    """The error for calling `who`, which takes nin inputs, on n."""
    return ValueError(f"{who} takes {nin} inputs, got {n}")


Layer = TypeVar("Layer")


def denses(layers: Iterable[Any], dense: type[Layer], who: str) -> list[Layer]:
    """layers as `dense` objects (an engine's Dense): each one already, or a
    (weights, biases, act) triple to make one of."""
    out = [d if isinstance(d, dense) else dense(*d) for d in layers]
    if not out:
        raise ValueError(f"{who}: no layers")
    return out


def samples(X: Any, who: str) -> np.ndarray:
    """X as a 2-D float64 array (samples, features)."""
    X = reals(X, who)
    if X.ndim != 2:
        raise ValueError(f"{who}: X must be 2-D (samples, features), got {X.ndim}-D")
    return X


# -- the bulk kernels' arguments -----------------------------------------------------

def uninitialised(v: Any) -> AttributeError:
    """The error for using a Value, Dense or Network whose __init__ never ran, or
    failed (made by __new__, or a subclass's __init__ that skips it's): it holds no
    node or rows, on either backend."""
    return AttributeError(f"{type(v).__name__} object is not initialised: "
                          "its __init__ never ran or failed")


def made_once(who: str) -> TypeError:
    """The error for calling __init__ again on an object made once (its nodes or
    rows are shared with what was built from it): make a new one instead."""
    return TypeError(f"{who} is made once: make a new {who} instead of calling "
                     "__init__ again")


def not_a_value(x: Any) -> TypeError:
    """The error for a parameter list holding x, which is no Value."""
    return TypeError(f"expected Values, got {type(x).__name__}")


def vector(values: Any, n: int, what: str) -> np.ndarray:
    """values as n float64s: a scalar broadcasts, anything else must have shape (n,)."""
    a = reals(values, what)
    if a.ndim == 0:
        return np.full(n, float(a))
    if a.shape != (n,):
        raise ValueError(f"{what}: expected {n} values, got an array of shape {a.shape}")
    return a


def state_buffer(buf: Any, n: int, what: str) -> np.ndarray:
    """buf, if it can hold an optimizer's state in place: float64, shape (n,), writeable
    and contiguous (the compiled kernel writes through its address)."""
    if not (isinstance(buf, np.ndarray) and buf.dtype == np.float64 and buf.shape == (n,)
            and buf.flags.c_contiguous and buf.flags.writeable):
        raise ValueError(f"{what}: expected a writeable float64 array of shape ({n},)")
    return buf


def adam_step_number(step: Any) -> None:
    """Adam's bias corrections count steps from 1."""
    if step < 1:
        raise ValueError(f"adam_step: step counts from 1, got {step}")


# -- arrays and state dicts ----------------------------------------------------------

def check_keys(state: Any, expected: Iterable[str], owner: str) -> None:
    """ValueError naming the missing and unexpected keys unless state has exactly `expected`."""
    if not isinstance(state, Mapping):
        raise TypeError(f"{owner}: a state dict must be a mapping, not {type(state).__name__}")
    expected = list(expected)
    missing = [k for k in expected if k not in state]
    unexpected = sorted(set(state) - set(expected), key=str)
    if missing or unexpected:
        raise ValueError(f"{owner}: state dict does not match; missing keys: {missing}, "
                         f"unexpected keys: {unexpected}")


def reals(value: Any, what: str) -> np.ndarray:
    """`value` as a float64 array. TypeError for None or complex data (numpy would make
    nan of None and drop imaginary parts); otherwise numpy's own errors (ValueError for
    strings that are no numbers, OverflowError for ints too large for a float)."""
    a = np.asarray(value)
    if value is None or a.dtype.kind in "cV":
        raise TypeError(f"{what}: expected real numbers, not {type(value).__name__} "
                        f"(dtype {a.dtype})")
    return a.astype(np.float64)


def real_array(value: Any, shape: tuple[int, ...], key: str, owner: str) -> np.ndarray:
    """`value` as a float64 array of exactly `shape`; TypeError unless it holds real numbers."""
    a = np.asarray(value)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{owner}: {key!r} must hold real numbers, not dtype {a.dtype}")
    if a.shape != shape:
        raise ValueError(f"{owner}: {key!r} has shape {a.shape}, expected {shape}")
    return a.astype(np.float64)


def not_an_mlp_call(x: Any, op: str | None) -> TypeError:
    """mlp_record's refusal of x (a Value with _op op, or no Value: op None)."""
    what = type(x).__name__ if op is None else f"a Value with _op {op!r}"
    return TypeError(f"mlp_record needs a fused MLP call node (a Value with _op 'mlp'), "
                     f"not {what}")


# -- compiled steps (fastgrad.compile) -----------------------------------------------

def input_not_a_leaf(k: int) -> ValueError:
    """The error for compile's k-th input leaf, which was computed from other Values."""
    return ValueError(f"compile: input Value {k} is not a leaf (it was computed from other "
                      "Values); inputs are the leaves forward() writes")


def not_replayable(op: str, label: str = "") -> ValueError:
    """The error for a graph holding a node (op string op, label label) a replay
    cannot recompute: a custom node."""
    name = f"{op!r}" + (f", label {label!r}" if label else "")
    return ValueError(f"compile: the graph holds a custom node ({name}) whose forward is "
                      "user code, which a replay cannot recompute; build that graph "
                      "anew each step instead")


def replay_failed() -> RuntimeError:
    """The error for backward() after a forward() that raised."""
    return RuntimeError("step.backward: the last forward() raised, so the graph holds no "
                        "step's values; call forward() again first")
