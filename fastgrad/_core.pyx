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
from libc.stdlib cimport calloc, free, malloc

from numbers import Complex, Real

import numpy as np

from fastgrad._state import reals

from fastgrad._graph cimport *
from fastgrad._ops cimport *  # the op codes, generated from csrc/ops.def by setup.py

__all__ = [
    "Value", "Dense", "Network", "sum", "dot", "layer", "mlp", "no_grad", "is_grad_enabled", "stats",
    "set_node_limit",
    "get_data", "set_data", "get_grad", "set_grad", "sgd_step", "adam_step", "mlp_predict",
]

cdef fg_graph G
if fg_init(&G, fg_release_rules):
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

cdef void _drop_label(fg_id id) noexcept:
    _notes.pop(id, None)

G.drop_label = _drop_label

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
    if err == FG_EBADOP:
        raise SystemError("fastgrad: a node has an op code no rule knows (corrupt store)")
    raise MemoryError("fastgrad: no room for another node (out of memory or at the node limit)")


# Whether a type's values are real numbers for Value (float() of them is the value):
# decided once per type, so numpy scalars in hot loops skip the ABC checks.
cdef dict _REAL_TYPES = {}


cdef bint _is_real_type(type t) except -1:
    cdef object known = _REAL_TYPES.get(t)
    if known is None:
        known = not (issubclass(t, (str, bytes, bytearray))
                     or (issubclass(t, Complex) and not issubclass(t, Real))
                     or not (hasattr(t, "__float__") or hasattr(t, "__index__")))
        _REAL_TYPES[t] = known
    return known


cdef double _to_double(object x) except? -1.0:
    """The float Python arithmetic would use for x; TypeError if it is no number."""
    if PyFloat_Check(x):  # float and its subclasses, numpy.float64 among them
        return PyFloat_AS_DOUBLE(x)
    if PyLong_Check(x):
        return PyLong_AsDouble(x)
    if not _is_real_type(type(x)):
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


cdef inline object _cmp_operand(object other):
    return G.data[(<Value>other).id] if isinstance(other, Value) else other


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
        cdef fg_id id = fg_leaf(&G, x, <void *>self)
        if id == FG_NONE:
            _raise(FG_ENOMEM)
        self.id = id
        if old != FG_NONE:  # __init__ called again on a live Value
            fg_disown(&G, old)
        if label:
            self.label = label

    def __dealloc__(self):
        if self.id != FG_NONE:
            fg_disown(&G, self.id)

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
            fg_set_flag(&G, self.id, FG_FLAG_LABEL, True)
        else:
            _notes.pop(self.id, None)
            fg_set_flag(&G, self.id, FG_FLAG_LABEL, False)

    @property
    def _op(self) -> str:
        cdef int op = G.op[self.id]
        if op == FG_POWC:
            return _pow_label(G.cst[self.id])
        if op == FG_HEAD:  # the output neuron's activation, or its dot if linear
            op = fg_head_act(&G, self.id)
            return _OP_NAMES[FG_DOT if op == FG_LEAF else op]
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
    # Comparisons are Python float's against the other side's data or number: exact
    # with ints of any size, NotImplemented (so TypeError) for what floats refuse.
    def __lt__(self, other):
        return (<object>G.data[self.id]).__lt__(_cmp_operand(other))

    def __le__(self, other):
        return (<object>G.data[self.id]).__le__(_cmp_operand(other))

    def __gt__(self, other):
        return (<object>G.data[self.id]).__gt__(_cmp_operand(other))

    def __ge__(self, other):
        return (<object>G.data[self.id]).__ge__(_cmp_operand(other))

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

    def _recompute(self) -> None:
        """Recompute this node's data from its operands' data as they are now, as a
        replay does node by node (a leaf keeps its data). For tests of that path."""
        cdef int err = fg_forward_node(&G, self.id)
        if err:
            _raise(err)


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
    return _own(v, fg_leaf(&G, data, <void *>v))


cdef inline Value _vv(int op, Value a, Value b):
    cdef double out = 0.0  # set by fg_forward unless it fails
    cdef int err = fg_forward(op, G.data[a.id], G.data[b.id], &out)
    if err:
        _raise(err)
    return _new(op, out, a.id, b.id, 0.0)


cdef inline Value _vc(int op, Value a, double c):
    cdef double out = 0.0  # set by fg_forward unless it fails
    cdef int err = fg_forward(op, G.data[a.id], c, &out)
    if err:
        _raise(err)
    return _new(op, out, a.id, FG_NONE, c)


cdef Value _facade(fg_id id):
    """The one facade of node id, made if it has none."""
    cdef void *o = fg_owner(&G, id)
    if o != NULL:
        return <Value>o
    cdef Value v = Value.__new__(Value)
    v.id = id
    fg_adopt(&G, id, <void *>v)
    return v


cdef list _children(fg_id id):
    cdef list out = []
    cdef int32_t k = 0
    cdef fg_id c = fg_operand(&G, id, &k)
    while c != FG_NONE:
        out.append(_facade(c))
        c = fg_operand(&G, id, &k)
    return out


# -- operand blocks and n-ary nodes -----------------------------------------------------

cdef int _fill_slot(fg_block *b, int32_t i, object x) except -1:
    """Slot i of b: x's node, or x as a constant."""
    if isinstance(x, Value):
        fg_block_fill(b, i, (<Value>x).id, 0.0)
    else:
        fg_block_fill(b, i, FG_NONE, _to_double(x))
    return 0


cdef fg_block *_block_of(list items) except NULL:
    """A sealed block of items' slots, holding one reference (the caller's)."""
    cdef Py_ssize_t i, n = len(items)
    cdef fg_block *b = fg_block_new(&G, <int32_t>n)
    if b == NULL:
        raise MemoryError("fastgrad: cannot allocate an operand block")
    try:
        for i in range(n):
            _fill_slot(b, <int32_t>i, items[i])
    except BaseException:
        fg_block_drop(&G, b)  # not sealed yet: nothing to give back
        raise
    fg_block_seal(&G, b)
    return b


def sum(values) -> Value:
    """One node for `builtins.sum(values)`: 0.0 + v0 + v1 + ..., left to right."""
    cdef Value v = Value.__new__(Value)
    cdef fg_block *t = _block_of(list(values))
    cdef double data = fg_sum_value(&G, t)
    try:
        if fastgrad_grad_off:
            return _own(v, fg_leaf(&G, data, <void *>v))
        return _own(v, fg_sum_new(&G, data, t, <void *>v))
    finally:
        fg_block_drop(&G, t)


def dot(ws, xs, bias=0.0) -> Value:
    """One node for micrograd's neuron sum: bias + w0*x0 + w1*x1 + ..., left to right."""
    cdef list wl = list(ws), xl = list(xs)
    if len(wl) != len(xl):
        raise ValueError(f"dot: {len(wl)} weights but {len(xl)} inputs")
    cdef Value v = Value.__new__(Value)
    wl.append(bias)
    cdef fg_block *w = _block_of(wl)
    cdef fg_block *x = NULL
    try:
        x = _block_of(xl)
        data = fg_dot_value(&G, w, x)
        if fastgrad_grad_off:
            return _own(v, fg_leaf(&G, data, <void *>v))
        return _own(v, fg_dot_new(&G, data, w, x, <void *>v))
    finally:
        fg_block_drop(&G, w)
        if x != NULL:
            fg_block_drop(&G, x)


cdef dict _ACTIVATIONS = {"relu": FG_RELU, "tanh": FG_TANH, "sigmoid": FG_SIGMOID,
                          "linear": FG_LEAF}


cdef int _activation(str act) except -1:
    try:
        return _ACTIVATIONS[act]
    except KeyError:
        raise ValueError(
            f"unknown activation {act!r}; use one of {sorted(_ACTIVATIONS)}") from None


cdef list _outputs(fg_block *ys):
    """Facades on a block's slots (leaf Values for constants); drops the block."""
    cdef list outs = []
    cdef int32_t j
    cdef Value v
    try:
        for j in range(ys.n):
            if ys.ids[j] != FG_NONE:
                outs.append(_facade(ys.ids[j]))
            else:
                v = Value.__new__(Value)
                outs.append(_own(v, fg_leaf(&G, ys.cst[j], <void *>v)))
    finally:
        fg_block_drop(&G, ys)
    return outs


cdef class Dense:
    """A dense layer's parameters, made once and called many times:
    `Dense(weights, biases, act)(x)` is act(dot(w_j, x, b_j)) for every neuron j.

    Each row of weights is one block shared by every call, and each call's inputs
    one block shared by every neuron, so a call counts references per layer, not per
    weight. The rows are copied when the Dense is made: to use other Values as weights,
    make a new Dense (the Values' data may change freely, as training does).
    """

    cdef readonly list weights
    cdef readonly list biases
    cdef readonly str act
    cdef readonly Py_ssize_t nin  # -1 for a layer without neurons: any input fits
    cdef int code
    cdef Py_ssize_t nout
    cdef fg_block **rows          # row j's weights then bias j, one reference each

    def __cinit__(self):
        self.rows = NULL
        self.nout = 0

    def __init__(self, weights, biases, str act not None="relu"):
        cdef Py_ssize_t j
        self.code = _activation(act)
        self.act = act
        wl = [list(w) for w in weights]
        bl = list(biases)
        if len(wl) != len(bl):
            raise ValueError(f"Dense: {len(wl)} weight rows but {len(bl)} biases")
        self.nin = len(wl[0]) if wl else -1
        for j in range(len(wl)):
            if len(wl[j]) != self.nin:
                raise ValueError(f"Dense: row {j} has {len(wl[j])} weights, row 0 {self.nin}")
        self.rows = <fg_block **>calloc(len(wl) or 1, sizeof(fg_block *))
        if self.rows == NULL:
            raise MemoryError("fastgrad: cannot allocate a dense layer")
        self.weights, self.biases, self.nout = wl, bl, len(wl)
        for j in range(self.nout):
            self.rows[j] = _block_of(wl[j] + [bl[j]])

    def __dealloc__(self):
        cdef Py_ssize_t j
        if self.rows != NULL:
            for j in range(self.nout):
                if self.rows[j] != NULL:
                    fg_block_drop(&G, self.rows[j])
            free(self.rows)

    @property
    def nout(self) -> int:
        return self.nout

    def __repr__(self) -> str:
        return f"Dense(nin={self.nin}, nout={self.nout}, act={self.act!r})"

    def __reduce__(self):
        return Dense, (self.weights, self.biases, self.act)

    cdef fg_block *_forward(self, fg_block *xs) except NULL:
        """The outputs on inputs xs as a sealed block holding one reference (under
        no_grad: constants, no node at all)."""
        cdef Py_ssize_t j, k
        cdef double data, out
        cdef fg_id d, a
        cdef fg_block *ys
        if self.nin >= 0 and xs.n != self.nin:
            raise ValueError(f"Dense: takes {self.nin} inputs, got {xs.n}")
        ys = fg_block_new(&G, <int32_t>self.nout)
        if ys == NULL:
            raise MemoryError("fastgrad: cannot allocate an operand block")
        for j in range(self.nout):
            data = fg_dot_value(&G, self.rows[j], xs)
            out = fg_activate(self.code, data)
            if fastgrad_grad_off:
                fg_block_fill(ys, <int32_t>j, FG_NONE, out)
                continue
            d = fg_dot_new(&G, data, self.rows[j], xs, NULL)
            a = d
            if d != FG_NONE and self.code != FG_LEAF:
                a = fg_node(&G, self.code, out, d, FG_NONE, 0.0, NULL)
                if a == FG_NONE:
                    fg_discard(&G, d)
            if a == FG_NONE:  # out of nodes: undo this call's nodes, then raise
                for k in range(j):
                    fg_discard(&G, ys.ids[k])
                fg_block_drop(&G, ys)
                _raise(FG_ENOMEM)
            fg_block_fill(ys, <int32_t>j, a, 0.0)
        fg_block_seal(&G, ys)
        return ys

    def __call__(self, x) -> list:
        cdef fg_block *xs = _block_of(list(x))
        try:
            return _outputs(self._forward(xs))
        finally:
            fg_block_drop(&G, xs)


def layer(weights, biases, x, str act not None="relu") -> list:
    """A dense layer's outputs, act(dot(w_j, x, b_j)) for every neuron j, in one call."""
    return Dense(weights, biases, act)(x)


cdef list _denses(layers, str who):
    """layers as Dense objects: each a Dense or a (weights, biases, act) triple."""
    cdef list out = [d if isinstance(d, Dense) else Dense(*d) for d in layers]
    if not out:
        raise ValueError(f"{who}: no layers")
    return out


cdef class Network:
    """Dense layers applied in turn, made once and called many times:
    `Network(layers)(x)` is the last layer's outputs, as calling each layer on the
    one before's. With the graph on, a call makes one node ("mlp") for all the hidden
    layers and one per output neuron (a "dot", or its activation's name) whose
    operands are that node and the neuron's weights and bias: the hidden activations
    are values the mlp node keeps, not nodes (csrc/net.h). The numbers, grads
    included, are those of the unfused layers, bit for bit.
    """

    cdef readonly list layers
    cdef readonly str name  # for error messages: "{name} takes 2 inputs, got 3"
    cdef readonly bint unwrap  # a single output is returned bare, not in a list
    cdef fg_net *net  # NULL: calls go layer by layer (one layer, or sizes that do not chain)

    def __cinit__(self):
        self.net = NULL

    def __init__(self, layers, str name not None="Network", bint unwrap=False):
        cdef Py_ssize_t l, nl
        cdef Dense d
        cdef fg_layer_spec *specs
        if self.net != NULL:  # __init__ called again
            fg_net_drop(&G, self.net)
            self.net = NULL
        self.name = name
        self.unwrap = unwrap
        self.layers = _denses(layers, name)
        nl = len(self.layers)
        for l, d in enumerate(self.layers):
            if d.nout == 0 or (l > 0 and d.nin != (<Dense>self.layers[l - 1]).nout):
                return
        if nl < 2:
            return
        specs = <fg_layer_spec *>malloc(nl * sizeof(fg_layer_spec))
        if specs == NULL:
            raise MemoryError("fastgrad: cannot allocate a network")
        for l, d in enumerate(self.layers):
            specs[l].nin, specs[l].nout, specs[l].act = d.nin, d.nout, d.code
            specs[l].rows = d.rows
        self.net = fg_net_new(&G, <int32_t>nl, specs)
        free(specs)
        if self.net == NULL:
            raise MemoryError("fastgrad: cannot allocate a network")

    def __dealloc__(self):
        if self.net != NULL:
            fg_net_drop(&G, self.net)

    def __repr__(self) -> str:
        return f"Network({self.layers!r}, {self.name!r}, unwrap={self.unwrap})"

    def __reduce__(self):
        return Network, (self.layers, self.name, self.unwrap)

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        """The call, as a method: cheaper to call than the object (no argument tuple)."""
        cdef list xl = x if type(x) is list else list(x)  # (only read)
        cdef list outs
        cdef Dense first = self.layers[0]
        if first.nout and len(xl) != first.nin:  # (a layer without neurons takes anything)
            raise ValueError(f"{self.name} takes {first.nin} inputs, got {len(xl)}")
        cdef fg_block *xs = _block_of(xl)
        cdef fg_block *ys
        try:
            if self.net != NULL and not fastgrad_grad_off:
                return self._fused(xs)
            if self.net != NULL:
                outs = self._leaves(xs)
            else:
                for d in self.layers:
                    ys = (<Dense>d)._forward(xs)
                    fg_block_drop(&G, xs)
                    xs = ys
                ys, xs = xs, NULL
                outs = _outputs(ys)
        finally:
            if xs != NULL:
                fg_block_drop(&G, xs)
        return outs[0] if self.unwrap and len(outs) == 1 else outs

    cdef object _fused(self, fg_block *xs):
        """Facades on the heads of one fused call (see csrc/net.h), a list unless
        unwrapped."""
        cdef Py_ssize_t j, nout = self.net.layer[self.net.nlayers - 1].nout
        cdef fg_id one
        cdef fg_id *heads = &one if nout == 1 else <fg_id *>malloc(nout * sizeof(fg_id))
        cdef list outs = []
        if heads == NULL:
            raise MemoryError("fastgrad: cannot allocate a network's outputs")
        try:
            if fg_net_apply(&G, self.net, xs, heads) == FG_NONE:
                _raise(FG_ENOMEM)
            if nout == 1 and self.unwrap:
                try:
                    return _facade(one)
                except BaseException:  # no facade: the head (and its net) die now
                    fg_discard(&G, one)
                    raise
            try:
                for j in range(nout):
                    outs.append(_facade(heads[j]))
            except BaseException:  # the heads no facade took yet die now
                for j in range(len(outs), nout):
                    fg_discard(&G, heads[j])
                raise
            return outs
        finally:
            if heads != &one:
                free(heads)

    cdef list _leaves(self, fg_block *xs):
        """The outputs of one call under no_grad, as leaves: no node for the rest."""
        cdef fg_net_layer *last = &self.net.layer[self.net.nlayers - 1]
        cdef double *values = <double *>malloc((xs.n + self.net.units) * sizeof(double))
        cdef double *h
        cdef Py_ssize_t j
        if values == NULL:
            raise MemoryError("fastgrad: cannot allocate a network's values")
        try:
            h = values + xs.n
            fg_net_eval(&G, self.net, xs, values, h)
            return [_new(FG_LEAF, h[last.first + j], FG_NONE, FG_NONE, 0.0)
                    for j in range(last.nout)]
        finally:
            free(values)


def mlp(layers, x) -> list:
    """The last layer's outputs of dense layers applied in turn: `Network(layers)(x)`."""
    return Network(layers)(x)


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
    """live_nodes; bytes: what the live nodes and their operand blocks take;
    node_bytes: one node's share of the store's arrays; reserved_bytes: what the store
    holds (arrays at capacity, blocks, scratch)."""
    return {"live_nodes": G.live, "bytes": fg_bytes_in_use(&G),
            "node_bytes": fg_bytes_per_slot(), "reserved_bytes": fg_bytes_reserved(&G)}


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
    a = reals(values, what)
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
              double weight_decay, step, m, v) -> None:
    """torch.optim.Adam's update for step `step` (1-based); m, v are its moments."""
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t n = p.ids.shape[0]
    if step < 1:
        raise ValueError(f"adam_step: step counts from 1, got {step}")
    cdef double[::1] mm = _state(m, n, "adam_step"), vv = _state(v, n, "adam_step")
    if n:
        fg_adam_step(&G, n, &p.ids[0], lr, beta1, beta2, eps, weight_decay, float(step),
                     &mm[0], &vv[0])


cdef double *_first(a) except NULL:
    """The address of a non-empty C-contiguous float64 array's first element."""
    cdef double[::1] flat = a.reshape(-1)
    return &flat[0]


def mlp_predict(layers, X) -> np.ndarray:
    """Outputs of dense layers on every row of X, as calling them computes them, with
    no graph and no Value: the weights are read once, then every row runs in C."""
    X = np.ascontiguousarray(reals(X, "mlp_predict"))
    if X.ndim != 2:
        raise ValueError(f"mlp_predict: X must be 2-D (samples, features), got {X.ndim}-D")
    cdef list ds = _denses(layers, "mlp_predict"), arrays = []
    cdef Py_ssize_t i, j, l, nl = len(ds), width = X.shape[1]
    cdef Dense d
    cdef double[:, ::1] w
    cdef double[::1] bias
    cdef size_t *sizes = <size_t *>calloc(nl + 1, sizeof(size_t))
    cdef const double **wp = <const double **>calloc(nl, sizeof(double *))
    cdef const double **bp = <const double **>calloc(nl, sizeof(double *))
    cdef int *acts = <int *>calloc(nl, sizeof(int))
    try:
        if not (sizes and wp and bp and acts):
            raise MemoryError("fastgrad: cannot allocate mlp_predict's plan")
        sizes[0] = width
        for l in range(nl):
            d = ds[l]
            if d.nin >= 0 and d.nin != width:
                raise ValueError(f"Dense: takes {d.nin} inputs, got {width}")
            # at least one element each, so the pointers are never NULL
            W = np.empty((max(width, 1), max(d.nout, 1)))  # transposed: see fg_mlp_forward
            B = np.empty(d.nout or 1)
            w, bias = W, B
            for j in range(d.nout):
                for i in range(width):
                    w[i, j] = fg_block_value(&G, d.rows[j], <int32_t>i)
                bias[j] = fg_block_value(&G, d.rows[j], <int32_t>width)
            arrays.append((W, B))
            wp[l], bp[l], acts[l] = &w[0, 0], &bias[0], d.code
            width = d.nout
            sizes[l + 1] = width
        out = np.empty((X.shape[0], width), dtype=np.float64)
        scratch = np.empty(fg_mlp_scratch(nl, sizes) or 1)
        x = X if X.size else np.empty((1, 1))
        y = out if out.size else np.empty((1, 1))
        fg_mlp_forward(nl, sizes, wp, bp, acts, X.shape[0], _first(x), _first(y),
                       _first(scratch))
        return out
    finally:
        free(sizes)
        free(wp)
        free(bp)
        free(acts)
