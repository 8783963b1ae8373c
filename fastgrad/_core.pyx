# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled backend: a Value facade over the C graph store in csrc/.

A Value is one small object holding a node id. The store keeps at most one facade
per node (its "owner"), so `_prev` hands back the same objects while they live, and
the facade's reference keeps its node alive. Everything numeric happens in C with
the rules of fastgrad/pure/engine.py, the specification.

Rule for this file: never hold a pointer into the store (G.data, ...) across
anything that can run Python code or allocate a node: both may move the arrays.
"""
cimport cython
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_AsDouble, PyFloat_Check
from cpython.long cimport PyLong_AsDouble, PyLong_Check
from libc.stdint cimport int32_t

import numpy as np

from fastgrad._graph cimport *

__all__ = [
    "Value", "sum", "dot", "layer", "mlp", "no_grad", "is_grad_enabled", "stats",
    "set_node_limit",
    "get_data", "set_data", "get_grad", "set_grad", "sgd_step", "adam_step", "mlp_predict",
]

cdef fg_graph G
if fg_init(&G):
    raise MemoryError("fastgrad: cannot allocate the graph store")

# The grad mode is per thread, as in PyTorch: no_grad in one thread leaves the
# others recording. A C thread-local: read on every operation, it must be cheap.
cdef extern from *:
    """
    #if defined(_MSC_VER)
    static __declspec(thread) int fastgrad_grad_off;
    #else
    static __thread int fastgrad_grad_off;
    #endif
    """
    int fastgrad_grad_off

# label of each labelled node; the store flags those and tells us when one dies
cdef dict _notes = {}

cdef void _drop_note(fg_id id) noexcept:
    _notes.pop(id, None)

G.drop_note = _drop_note

cdef tuple _OP_NAMES = tuple(fg_op_name[i].decode() for i in range(<int>FG_NOPS))


cdef int _raise(int err) except -1:
    """Raise the exception Python's float arithmetic raises for a core error code."""
    if err == FG_EZERODIV:
        raise ZeroDivisionError("float division by zero")
    if err == FG_EPOWZERO:
        raise ZeroDivisionError("0.0 cannot be raised to a negative power")
    if err == FG_EDOMAIN:
        raise ValueError("math domain error")
    if err == FG_EOVERFLOW:
        raise OverflowError(34, "Numerical result out of range")
    if err == FG_ERANGE:
        raise OverflowError("math range error")
    raise MemoryError("fastgrad: no room for another node (out of memory or at the node limit)")


cdef double _to_double(object x) except? -1.0:
    """The float Python arithmetic would use for x; TypeError if it is no number."""
    if PyFloat_Check(x):  # float and its subclasses, numpy.float64 among them
        return PyFloat_AS_DOUBLE(x)
    if PyLong_Check(x):
        return PyLong_AsDouble(x)
    if isinstance(x, (str, bytes, bytearray)) or not (
            hasattr(type(x), "__float__") or hasattr(type(x), "__index__")):
        raise TypeError(f"a Value needs a real number, not {type(x).__name__}")
    return PyFloat_AsDouble(x)


cdef inline bint _number(object x, double *out) except -1:
    """Store x as a float in out; False if x is no number (the op is NotImplemented)."""
    if type(x) is float:
        out[0] = PyFloat_AS_DOUBLE(x)
        return True
    try:
        out[0] = _to_double(x)
    except TypeError:
        return False
    return True


def _pow_label(double c):
    return f"**{int(c)}" if c.is_integer() and abs(c) < 2.0 ** 53 else f"**{c}"


@cython.freelist(1024)
cdef class Value:
    """A scalar and its gradient, remembering how it was computed."""

    cdef fg_id id  # 0 (FG_NONE) until the facade owns a node

    __array_ufunc__ = None  # numpy scalars on the left defer to our reflected ops

    def __init__(self, data, label: str = ""):
        cdef double x = _to_double(data)
        cdef fg_id old = self.id
        cdef fg_id id = fg_node(&G, FG_LEAF, x, FG_NONE, FG_NONE, 0.0, <void *>self)
        if id == FG_NONE:
            _raise(FG_ENOMEM)
        self.id = id
        if old != FG_NONE:  # __init__ called again on a live Value
            G.owner[old] = NULL
            fg_decref(&G, old)
        if label:
            self.label = label

    def __dealloc__(self):
        if self.id != FG_NONE:
            G.owner[self.id] = NULL
            fg_decref(&G, self.id)

    # -- attributes ------------------------------------------------------------------
    @property
    def data(self) -> float:
        return G.data[self.id]

    @data.setter
    def data(self, value) -> None:
        cdef double x = _to_double(value)
        G.data[self.id] = x

    @property
    def grad(self) -> float:
        return G.grad[self.id]

    @grad.setter
    def grad(self, value) -> None:
        cdef double x = _to_double(value)
        G.grad[self.id] = x

    @property
    def label(self) -> str:
        return _notes.get(self.id, "")

    @label.setter
    def label(self, value) -> None:
        if not isinstance(value, str):
            raise TypeError(f"label must be a str, not {type(value).__name__}")
        if value:
            _notes[self.id] = value
            G.flags[self.id] |= FG_FLAG_NOTE
        else:
            _notes.pop(self.id, None)
            G.flags[self.id] &= ~FG_FLAG_NOTE

    @property
    def _op(self) -> str:
        cdef int op = G.op[self.id]
        if op == FG_POWC:
            return _pow_label(G.cst[self.id])
        return _OP_NAMES[op]

    @property
    def _prev(self) -> set:
        return set(_children(self.id))

    # -- binary operations -----------------------------------------------------------
    def __add__(self, other):
        cdef double c
        if isinstance(other, Value):
            return _vv(FG_ADD, self, other)
        if not _number(other, &c):
            return NotImplemented
        return _vc(FG_ADDC, self, c)

    def __radd__(self, other):
        cdef double c
        if not _number(other, &c):
            return NotImplemented
        return _vc(FG_ADDC, self, c)

    def __sub__(self, other):
        cdef double c
        if isinstance(other, Value):
            return _vv(FG_SUB, self, other)
        if not _number(other, &c):
            return NotImplemented
        return _vc(FG_ADDC, self, -c)  # x - c is exactly x + (-c)

    def __rsub__(self, other):
        cdef double c
        if not _number(other, &c):
            return NotImplemented
        return _vc(FG_RSUBC, self, c)

    def __mul__(self, other):
        cdef double c
        if isinstance(other, Value):
            return _vv(FG_MUL, self, other)
        if not _number(other, &c):
            return NotImplemented
        return _vc(FG_MULC, self, c)

    def __rmul__(self, other):
        cdef double c
        if not _number(other, &c):
            return NotImplemented
        return _vc(FG_MULC, self, c)

    def __truediv__(self, other):
        cdef double c
        if isinstance(other, Value):
            return _vv(FG_DIV, self, other)
        if not _number(other, &c):
            return NotImplemented
        return _vc(FG_DIVC, self, c)

    def __rtruediv__(self, other):
        cdef double c
        if not _number(other, &c):
            return NotImplemented
        return _vc(FG_RDIVC, self, c)

    def __pow__(self, other, mod=None):
        cdef double c
        if mod is not None:
            return NotImplemented
        if isinstance(other, Value):
            return _vv(FG_POW, self, other)
        if not _number(other, &c):
            return NotImplemented
        return _vc(FG_POWC, self, c)

    def __rpow__(self, other, mod=None):
        cdef double c
        if mod is not None or not _number(other, &c):
            return NotImplemented
        return _vc(FG_RPOWC, self, c)

    # -- unary operations ------------------------------------------------------------
    def __neg__(self):
        return _vc(FG_MULC, self, -1.0)

    def __pos__(self):
        return self

    def __abs__(self):
        return _vc(FG_ABS, self, 0.0)

    def relu(self) -> Value:
        return _vc(FG_RELU, self, 0.0)

    def tanh(self) -> Value:
        return _vc(FG_TANH, self, 0.0)

    def sigmoid(self) -> Value:
        return _vc(FG_SIGMOID, self, 0.0)

    def exp(self) -> Value:
        return _vc(FG_EXP, self, 0.0)

    def log(self) -> Value:
        return _vc(FG_LOG, self, 0.0)

    def sqrt(self) -> Value:
        return _vc(FG_SQRT, self, 0.0)

    # -- comparisons and conversions -------------------------------------------------
    def __lt__(self, other):
        cdef double c
        if isinstance(other, Value):
            return G.data[self.id] < G.data[(<Value>other).id]
        if not _number(other, &c):
            return NotImplemented
        return G.data[self.id] < c

    def __le__(self, other):
        cdef double c
        if isinstance(other, Value):
            return G.data[self.id] <= G.data[(<Value>other).id]
        if not _number(other, &c):
            return NotImplemented
        return G.data[self.id] <= c

    def __gt__(self, other):
        cdef double c
        if isinstance(other, Value):
            return G.data[self.id] > G.data[(<Value>other).id]
        if not _number(other, &c):
            return NotImplemented
        return G.data[self.id] > c

    def __ge__(self, other):
        cdef double c
        if isinstance(other, Value):
            return G.data[self.id] >= G.data[(<Value>other).id]
        if not _number(other, &c):
            return NotImplemented
        return G.data[self.id] >= c

    def __reduce__(self):
        # a Value pickles and deep-copies as a leaf: its graph is not data, and leaves
        # never recurse, however deep the graph behind them
        return _restore, (G.data[self.id], G.grad[self.id], self.label)

    def __hash__(self):
        # identity, as object.__hash__ (a class defining < must spell it out in C):
        # == stays identity too, so Values live in sets and dicts as in micrograd
        cdef size_t y = <size_t><void *>self
        cdef Py_hash_t h = <Py_hash_t>((y >> 4) | (y << (8 * sizeof(void *) - 4)))
        return -2 if h == -1 else h

    def __float__(self) -> float:
        return G.data[self.id]

    def __repr__(self) -> str:
        return f"Value(data={G.data[self.id]!r}, grad={G.grad[self.id]!r})"

    # -- gradients -------------------------------------------------------------------
    def backward(self) -> None:
        """Set this Value's grad to 1 and accumulate d(self)/d(node) into every node."""
        cdef int err = fg_backward(&G, self.id)
        if err:
            _raise(err)

    def zero_grad(self) -> None:
        G.grad[self.id] = 0.0


# -- making nodes ----------------------------------------------------------------------

cdef inline Value _own(Value v, fg_id id):
    if id == FG_NONE:
        _raise(FG_ENOMEM)
    v.id = id
    return v


cdef inline Value _new(int op, double data, fg_id a, fg_id b, double c):
    """A facade on a new node; a leaf under no_grad. The facade is made first: if the
    node cannot be, the facade dies owning nothing."""
    cdef Value v = Value.__new__(Value)
    if not fastgrad_grad_off:
        return _own(v, fg_node(&G, op, data, a, b, c, <void *>v))
    return _own(v, fg_node(&G, FG_LEAF, data, FG_NONE, FG_NONE, 0.0, <void *>v))


cdef inline Value _vv(int op, Value a, Value b):
    cdef double out
    cdef int err = fg_forward(op, G.data[a.id], G.data[b.id], &out)
    if err:
        _raise(err)
    return _new(op, out, a.id, b.id, 0.0)


cdef inline Value _vc(int op, Value a, double c):
    cdef double out
    cdef int err = fg_forward(op, G.data[a.id], c, &out)
    if err:
        _raise(err)
    return _new(op, out, a.id, FG_NONE, c)


cdef Value _facade(fg_id id):
    """The one facade of node id, made if it has none."""
    cdef void *o = G.owner[id]
    if o != NULL:
        return <Value>o
    cdef Value v = Value.__new__(Value)
    v.id = id
    G.owner[id] = <void *>v
    G.refs[id] += 1
    return v


cdef list _children(fg_id id):
    cdef list out = []
    cdef int32_t k = 0
    cdef fg_id c = fg_operand(&G, id, &k)
    while c != FG_NONE:
        out.append(_facade(c))
        c = fg_operand(&G, id, &k)
    return out


# -- n-ary nodes -----------------------------------------------------------------------

cdef int _fill_slot(fg_edges *e, int32_t i, object x) except -1:
    """Slot i of e: x's node, or x as a constant."""
    if isinstance(x, Value):
        e.ids[i] = (<Value>x).id
        e.cst[i] = 0.0
    else:
        e.cst[i] = _to_double(x)
        e.ids[i] = FG_NONE
    return 0


cdef Value _new_nary(Value v, int op, fg_edges *e):
    """v made the owner of a new n-ary node over e (a leaf under no_grad); e is taken
    over. The caller keeps e's operands alive until this returns."""
    cdef double data = fg_forward_nary(&G, op, e)
    if not fastgrad_grad_off:
        return _own(v, fg_nary(&G, op, data, e, <void *>v))
    fg_edges_free(e)
    return _own(v, fg_node(&G, FG_LEAF, data, FG_NONE, FG_NONE, 0.0, <void *>v))


cdef fg_edges *_edges(int32_t n) except NULL:
    cdef fg_edges *e = fg_edges_new(n)
    if e == NULL:
        raise MemoryError("fastgrad: cannot allocate a node's operand list")
    return e


def sum(values) -> Value:
    """One node for `builtins.sum(values)`: 0.0 + v0 + v1 + ..., left to right."""
    cdef list seq = list(values)  # holds the operands alive while we read them
    cdef Py_ssize_t i, n = len(seq)
    cdef Value v = Value.__new__(Value)
    cdef fg_edges *e = _edges(<int32_t>n)
    try:
        for i in range(n):
            _fill_slot(e, <int32_t>i, seq[i])
    except BaseException:
        fg_edges_free(e)
        raise
    return _new_nary(v, FG_SUM, e)


def dot(ws, xs, bias=0.0) -> Value:
    """One node for micrograd's neuron sum: bias + w0*x0 + w1*x1 + ..., left to right."""
    cdef list wl = list(ws), xl = list(xs)
    cdef Py_ssize_t i, n = len(wl)
    if n != len(xl):
        raise ValueError(f"dot: {len(wl)} weights but {len(xl)} inputs")
    cdef Value v = Value.__new__(Value)
    cdef fg_edges *e = _edges(<int32_t>(2 * n + 1))
    try:
        for i in range(n):
            _fill_slot(e, <int32_t>(2 * i), wl[i])
            _fill_slot(e, <int32_t>(2 * i + 1), xl[i])
        _fill_slot(e, <int32_t>(2 * n), bias)
    except BaseException:
        fg_edges_free(e)
        raise
    return _new_nary(v, FG_DOT, e)


cdef dict _ACTIVATIONS = {"relu": FG_RELU, "tanh": FG_TANH, "sigmoid": FG_SIGMOID,
                          "linear": FG_LEAF}


cdef int _activation(str act) except -1:
    try:
        return _ACTIVATIONS[act]
    except KeyError:
        raise ValueError(
            f"unknown activation {act!r}; use one of {sorted(_ACTIVATIONS)}") from None


cdef void _drop_refs(fg_edges *e) noexcept:
    """Give back the references an activations list holds on its nodes, and free it."""
    cdef int32_t i
    if e == NULL:
        return
    for i in range(e.n):
        if e.ids[i] != FG_NONE:
            fg_decref(&G, e.ids[i])
    fg_edges_free(e)


cdef fg_edges *_inputs(list xl) except NULL:
    """A layer's inputs as slots (node ids holding a reference, or constants)."""
    cdef Py_ssize_t i, n = len(xl)
    cdef fg_edges *xs = _edges(<int32_t>n)
    try:
        for i in range(n):
            _fill_slot(xs, <int32_t>i, xl[i])
    except BaseException:
        fg_edges_free(xs)
        raise
    for i in range(n):
        if xs.ids[i] != FG_NONE:
            fg_incref(&G, xs.ids[i])
    return xs


cdef fg_edges *_dense(weights, biases, const fg_edges *xs, int code) except NULL:
    """act(dot(w_j, xs, b_j)) for every neuron j, as slots that hold a reference on
    each node (under no_grad: constants, no node at all)."""
    cdef list wl = list(weights), bl = list(biases), w
    cdef Py_ssize_t i, j, nin = xs.n, nout = min(len(wl), len(bl))
    cdef fg_edges *ys = _edges(<int32_t>nout)
    cdef fg_edges *e
    cdef double data, out
    cdef fg_id d, a
    for j in range(nout):  # slots past j are unset: mark them so a failure can clean up
        ys.ids[j] = FG_NONE
    try:
        for j in range(nout):
            w = wl[j] if type(wl[j]) is list else list(wl[j])
            if len(w) != nin:
                raise ValueError(f"dot: {len(w)} weights but {nin} inputs")
            e = _edges(<int32_t>(2 * nin + 1))
            try:
                for i in range(nin):
                    _fill_slot(e, <int32_t>(2 * i), w[i])
                    e.ids[2 * i + 1] = xs.ids[i]
                    e.cst[2 * i + 1] = xs.cst[i]
                _fill_slot(e, <int32_t>(2 * nin), bl[j])
            except BaseException:
                fg_edges_free(e)
                raise
            data = fg_forward_nary(&G, FG_DOT, e)
            fg_forward(code, data, 0.0, &out)  # activations cannot fail
            if fastgrad_grad_off:
                fg_edges_free(e)
                ys.cst[j] = out
                continue
            d = fg_nary(&G, FG_DOT, data, e, NULL)
            if d == FG_NONE:
                _raise(FG_ENOMEM)
            if code == FG_LEAF:
                a = d
            else:
                a = fg_node(&G, code, out, d, FG_NONE, 0.0, NULL)
                if a == FG_NONE:
                    fg_discard(&G, d)
                    _raise(FG_ENOMEM)
            fg_incref(&G, a)
            ys.ids[j] = a
    except BaseException:
        _drop_refs(ys)
        raise
    return ys


cdef list _outputs(fg_edges *ys):
    """Facades on an activations list's slots (leaf Values for constants); frees it."""
    cdef list outs = []
    cdef int32_t j
    cdef Value v
    try:
        for j in range(ys.n):
            if ys.ids[j] != FG_NONE:
                outs.append(_facade(ys.ids[j]))
            else:
                v = Value.__new__(Value)
                outs.append(_own(v, fg_node(&G, FG_LEAF, ys.cst[j], FG_NONE, FG_NONE, 0.0,
                                            <void *>v)))
    finally:
        _drop_refs(ys)
    return outs


def layer(weights, biases, x, str act="relu") -> list:
    """A dense layer's outputs, act(dot(w_j, x, b_j)) for every neuron j, in one call.

    Only the outputs get facades: each neuron's dot node is held by its activation."""
    cdef int code = _activation(act)
    cdef fg_edges *xs = _inputs(list(x))
    try:
        return _outputs(_dense(weights, biases, xs, code))
    finally:
        _drop_refs(xs)


def mlp(layers, x) -> list:
    """The last layer's outputs of dense layers applied in turn, in one call: as
    layer() on each, but the hidden activations get no facades at all."""
    cdef list specs = list(layers)
    if not specs:
        raise ValueError("mlp: no layers")
    cdef fg_edges *xs = _inputs(list(x))
    cdef fg_edges *ys
    try:
        for weights, biases, act in specs:
            ys = _dense(weights, biases, xs, _activation(act))
            _drop_refs(xs)
            xs = ys
        ys = xs
        xs = NULL
        return _outputs(ys)
    finally:
        _drop_refs(xs)


class no_grad:
    """Context in which operations record no graph: results are leaf Values."""

    def __enter__(self) -> None:
        global fastgrad_grad_off
        self._prev = fastgrad_grad_off
        fastgrad_grad_off = 1

    def __exit__(self, *exc) -> None:
        global fastgrad_grad_off
        fastgrad_grad_off = self._prev


def is_grad_enabled() -> bool:
    return not fastgrad_grad_off


def set_node_limit(limit: int | None) -> None:
    """Cap the number of live nodes (None: no cap). Past it an operation raises
    MemoryError and changes nothing, as when memory runs out."""
    if limit is not None and limit < 0:
        raise ValueError(f"node limit must be >= 0 or None, not {limit}")
    fg_set_max_live(&G, 2 ** 31 - 2 if limit is None else min(limit, 2 ** 31 - 2))


def _restore(double data, double grad, str label) -> Value:
    """A leaf Value as pickled: its data, grad and label (the graph is not kept)."""
    cdef Value v = Value(data, label)
    G.grad[v.id] = grad
    return v


def stats() -> dict:
    """Live node count and the bytes the graph store holds."""
    return {"live_nodes": G.live, "bytes": fg_bytes(&G)}


# -- bulk kernels: a whole parameter list or data set per call -------------------------

cdef class _Ids:
    """The node ids of a list of Values, holding the Values alive while in use."""
    cdef list values
    cdef fg_id[::1] ids

    def __cinit__(self, params):
        cdef Py_ssize_t i
        self.values = list(params)
        self.ids = np.empty(len(self.values), dtype=np.int32)
        for i in range(len(self.values)):
            p = self.values[i]
            if not isinstance(p, Value):
                raise TypeError(f"expected Values, got {type(p).__name__}")
            self.ids[i] = (<Value>p).id


cdef double[::1] _vector(object values, Py_ssize_t n, str what):
    """values as n float64s: a scalar broadcasts, anything else must have shape (n,)."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 0:
        return np.full(n, float(a))
    if a.shape != (n,):
        raise ValueError(f"{what}: expected {n} values, got an array of shape {a.shape}")
    return np.ascontiguousarray(a)


cdef double[::1] _state(object buf, Py_ssize_t n, str what):
    """An optimizer state array: float64, shape (n,), updated in place."""
    if not (isinstance(buf, np.ndarray) and buf.dtype == np.float64 and buf.shape == (n,)
            and buf.flags.c_contiguous and buf.flags.writeable):
        raise ValueError(f"{what}: expected a writeable float64 array of shape ({n},)")
    return buf


def get_data(params) -> np.ndarray:
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t i, n = p.ids.shape[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    for i in range(n):
        o[i] = G.data[p.ids[i]]
    return out


def set_data(params, values) -> None:
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t i, n = p.ids.shape[0]
    cdef double[::1] x = _vector(values, n, "set_data")
    for i in range(n):
        G.data[p.ids[i]] = x[i]


def get_grad(params) -> np.ndarray:
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t i, n = p.ids.shape[0]
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    for i in range(n):
        o[i] = G.grad[p.ids[i]]
    return out


def set_grad(params, values) -> None:
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t i, n = p.ids.shape[0]
    cdef double[::1] x = _vector(values, n, "set_grad")
    for i in range(n):
        G.grad[p.ids[i]] = x[i]


def sgd_step(params, double lr, double momentum, double weight_decay, buf,
             bint first) -> None:
    """torch.optim.SGD's update (no dampening, no nesterov); buf holds the momentum."""
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t n = p.ids.shape[0]
    cdef double[::1] b = _state(buf, n, "sgd_step")
    if n:
        fg_sgd_step(&G, n, &p.ids[0], lr, momentum, weight_decay, &b[0], first)


def adam_step(params, double lr, double beta1, double beta2, double eps,
              double weight_decay, long step, m, v) -> None:
    """torch.optim.Adam's update for step `step` (1-based); m, v are its moments."""
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t n = p.ids.shape[0]
    if step < 1:
        raise ValueError(f"adam_step: step counts from 1, got {step}")
    cdef double[::1] mm = _state(m, n, "adam_step"), vv = _state(v, n, "adam_step")
    if n:
        fg_adam_step(&G, n, &p.ids[0], lr, beta1, beta2, eps, weight_decay, step,
                     &mm[0], &vv[0])


def mlp_predict(layers, X) -> np.ndarray:
    """Outputs of dense layers on every row of X, as layer() computes them, no graph."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"mlp_predict: X must be 2-D (samples, features), got {X.ndim}-D")
    if not layers:
        raise ValueError("mlp_predict: no layers")
    cdef list plan = []
    cdef Py_ssize_t width = X.shape[1], widest = width
    for weights, biases, act in layers:
        code = _activation(act)
        rows = [get_data(row) for row in weights]
        B = get_data(biases)
        if len(rows) != len(B) or any(len(r) != width for r in rows):
            raise ValueError(f"mlp_predict: layer weights do not fit {width} inputs")
        W = np.ascontiguousarray(np.array(rows, dtype=np.float64).reshape(len(B), width))
        plan.append((W, B, code))
        width = len(B)
        widest = max(widest, width)
    cdef double[:, ::1] x = X
    cdef Py_ssize_t r, k, nrows = X.shape[0], nin
    out = np.empty((nrows, width), dtype=np.float64)
    cdef double[:, ::1] o = out
    cdef double[::1] a = np.empty(widest + 1), bb = np.empty(widest + 1)
    cdef double[:, ::1] w
    cdef double[::1] bias
    cdef double[::1] tmp
    for r in range(nrows):
        nin = x.shape[1]
        a[:nin] = x[r, :]
        for W, B, code in plan:
            w = W
            bias = B
            fg_dense_forward(w.shape[0], nin, &w[0, 0] if w.shape[0] * nin else NULL,
                             &bias[0] if w.shape[0] else NULL, code, &a[0], &bb[0])
            nin = w.shape[0]
            tmp = a
            a = bb
            bb = tmp
        o[r, :] = a[:nin]
    return out
