# Value: a facade on one node of the store (included by _core.pyx; the counterpart of
# fastgrad/pure's engine). Each op is a method naming its op code; the rules are in
# csrc/ops.def.

# label of each labelled node; the store flags those and tells us when one dies
cdef dict _labels = {}
cdef double _minus_one = -1.0  # set at run time: see Value.__neg__


cdef void _drop_label(fg_id id) noexcept:
    # as a node dies, maybe while an exception propagates: the dict must not see it
    cdef PyObject *t
    cdef PyObject *v
    cdef PyObject *tb
    PyErr_Fetch(&t, &v, &tb)
    _labels.pop(id, None)
    PyErr_Restore(t, v, tb)


G.drop_label = _drop_label


cdef inline object _cmp_operand(object other):
    return G.data[_node_of(<Value>other)] if isinstance(other, Value) else other


cdef class Value:
    """A scalar and its gradient, remembering how it was computed."""

    cdef fg_id id  # 0 (FG_NONE) until the facade owns a node
    # weakref.ref(v) as on pure; no GC tracking, and the object stays within 32 bytes
    cdef object __weakref__

    __array_priority__ = 1.0  # numpy scalars and arrays defer to us (fastgrad.elementwise)

    def __init__(self, data, _children=(), _op="", label=""):
        cdef double x = _to_double(data)
        cdef tuple kids = (<tuple>_children if type(_children) is tuple  # a leaf's: no call
                           else checks.children(_children))
        cdef fg_id old, id
        cdef bint custom
        if not isinstance(_op, str):
            raise checks.bad_op(_op)
        if not isinstance(label, str):
            raise checks.bad_label(label)
        custom = len(kids) > 0 or len(<str>_op) > 0
        old = self.id  # read after every conversion: they run Python, which may init self
        if old != FG_NONE and (custom or G.op[old] == FG_CUSTOM):
            raise checks.custom_reinit()
        cdef _CustomOp rec = _new_rec(self) if custom else None
        if custom and not fastgrad_grad_off:
            id = _custom_node(self, x, kids)
            rec.kids = kids  # no Python ran since the node took them
            rec.op = _op
        else:  # a leaf; a custom node under no_grad too, which keeps no children
            id = fg_leaf(&G, x, <void *>self)
            if id == FG_NONE:
                _raise(FG_ENOMEM)
        if custom:
            rec.closure = _nothing
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
        return G.data[_node_of(self)]

    @data.setter
    def data(self, value) -> None:
        cdef double x = _to_double(value)
        G.data[_node_of(self)] = x

    @property
    def grad(self) -> float:
        return G.grad[_node_of(self)]

    @grad.setter
    def grad(self, value) -> None:
        cdef double x = _to_double(value)
        G.grad[_node_of(self)] = x

    @property
    def label(self) -> str:
        return _labels.get(_node_of(self), "")

    @label.setter
    def label(self, value) -> None:
        if type(value) is not str:
            value = checks.label(value)
        cdef fg_id id = _node_of(self)
        if value:
            _labels[id] = value
            fg_set_flag(&G, id, FG_FLAG_LABEL, True)
        else:
            _labels.pop(id, None)
            fg_set_flag(&G, id, FG_FLAG_LABEL, False)

    @property
    def _op(self) -> str:
        cdef fg_id id = _node_of(self)
        cdef int op = G.op[id]
        if op == FG_POWC:
            return checks.pow_label(G.cst[id])
        if op == FG_CUSTOM:
            return _rec_of(_custom_of(id)).op
        if op == FG_HEAD:  # the output neuron's activation, or its dot if linear
            op = fg_head_act(&G, id)
            return _OP_NAMES[FG_DOT if op == FG_LEAF else op]
        return _OP_NAMES[op]

    @property
    def _backward(self):
        """micrograd's no-argument callable: this node's local backward, once (its grad
        times the local derivatives, added into its operands' grads). A custom node's
        is the closure set on it (micrograd's recipe); other nodes keep their own."""
        cdef _CustomOp rec = _rec_of(self)
        if rec is not None and rec.closure is not None:
            return rec.closure
        return self._local_backward

    @_backward.setter
    def _backward(self, f) -> None:
        cdef _CustomOp rec = _rec_of(self)
        if rec is None or rec.closure is None:
            raise checks.not_custom(self)
        rec.closure = f  # under no_grad its node is a leaf: never called

    def _local_backward(self) -> None:
        """This node's local backward once, as backward() applies it (_backward)."""
        cdef int err = fg_local_backward(&G, _node_of(self))
        if err:
            _raise(err)

    @property
    def _prev(self) -> set:
        return set(_children(_node_of(self)))

    @property
    def _operands(self) -> tuple:
        """The operands in operand order, each a Value or the constant folded in there:
        `x * 2` gives (x, 2.0), `2 - x` (2.0, x), `x - 2` (an addition) (x, -2.0), a
        dot (w0, x0, w1, x1, ..., bias); () for a leaf. _prev is the set of its Values."""
        return _slots_of(_node_of(self))

    # -- binary operations -----------------------------------------------------------
    # What each operator makes, for every operand; _slots.pxi makes the same for exact
    # Values, floats and ints without calling these.
    def __add__(self, other):
        cdef double c
        if isinstance(other, Value):
            return _binary(FG_ADD, self, <Value>other)
        if not _number(other, &c):
            return _no_number(_U_ADD, self, other)
        return _with_constant(FG_ADDC, self, c)

    def __radd__(self, other):
        cdef double c
        # other is a Value when self's class is a subclass of other's: Python asks the
        # subclass first. Its data is no constant (Value has __float__): keep the edge.
        if isinstance(other, Value):
            return _binary(FG_ADD, other, self)
        if not _number(other, &c):
            return _no_number(_U_ADD, other, self)
        return _with_constant(FG_ADDC, self, c)

    def __sub__(self, other):
        cdef double c
        if isinstance(other, Value):
            return _binary(FG_SUB, self, <Value>other)
        if not _number(other, &c):
            return _no_number(_U_SUB, self, other)
        return _with_constant(FG_ADDC, self, _minus(c))

    def __rsub__(self, other):
        cdef double c
        if isinstance(other, Value):  # see __radd__
            return _binary(FG_SUB, other, self)
        if not _number(other, &c):
            return _no_number(_U_SUB, other, self)
        return _with_constant(FG_RSUBC, self, c)

    def __mul__(self, other):
        cdef double c
        if isinstance(other, Value):
            return _binary(FG_MUL, self, <Value>other)
        if not _number(other, &c):
            return _no_number(_U_MUL, self, other)
        return _with_constant(FG_MULC, self, c)

    def __rmul__(self, other):
        cdef double c
        if isinstance(other, Value):  # see __radd__
            return _binary(FG_MUL, other, self)
        if not _number(other, &c):
            return _no_number(_U_MUL, other, self)
        return _with_constant(FG_MULC, self, c)

    def __truediv__(self, other):
        cdef double c
        if isinstance(other, Value):
            return _binary(FG_DIV, self, <Value>other)
        if not _number(other, &c):
            return _no_number(_U_DIV, self, other)
        return _with_constant(FG_DIVC, self, c)

    def __rtruediv__(self, other):
        cdef double c
        if isinstance(other, Value):  # see __radd__
            return _binary(FG_DIV, other, self)
        if not _number(other, &c):
            return _no_number(_U_DIV, other, self)
        return _with_constant(FG_RDIVC, self, c)

    def __pow__(self, other, mod=None):
        cdef double c
        if mod is not None:
            return NotImplemented
        if isinstance(other, Value):
            return _binary(FG_POW, self, <Value>other)
        if not _number(other, &c):
            return _no_number(_U_POW, self, other)
        return _with_constant(FG_POWC, self, c)

    def __rpow__(self, other, mod=None):
        cdef double c
        if mod is None and isinstance(other, Value):  # see __radd__
            return _binary(FG_POW, other, self)
        if mod is not None:
            return NotImplemented
        if not _number(other, &c):
            return _no_number(_U_POW, other, self)
        return _with_constant(FG_RPOWC, self, c)

    # -- unary operations ------------------------------------------------------------
    def __neg__(self):
        # x * -1 as the rule computes it: a literal -1.0 would let the C compiler fold it
        # into -x, which flips a nan's sign where x * -1 keeps it
        return _with_constant(FG_MULC, self, _minus_one)

    def __pos__(self):
        return self

    def __abs__(self):
        return _with_constant(FG_ABS, self, 0.0)

    # Methods called once a node are method descriptors (binding False): Python 3.11 calls
    # them on its specialised path, a cyfunction on the generic one (~5% of the README
    # expression built, backpropagated and dropped). Their clinic-style docstring
    # signatures (embedsignature) keep inspect.signature working.
    @cython.binding(False)
    @cython.embedsignature(True)
    @cython.embedsignature.format('clinic')
    def relu(self) -> Value:
        return _with_constant(FG_RELU, self, 0.0)

    @cython.binding(False)
    @cython.embedsignature(True)
    @cython.embedsignature.format('clinic')
    def tanh(self) -> Value:
        return _with_constant(FG_TANH, self, 0.0)

    @cython.binding(False)
    @cython.embedsignature(True)
    @cython.embedsignature.format('clinic')
    def sigmoid(self) -> Value:
        return _with_constant(FG_SIGMOID, self, 0.0)

    @cython.binding(False)
    @cython.embedsignature(True)
    @cython.embedsignature.format('clinic')
    def exp(self) -> Value:
        return _with_constant(FG_EXP, self, 0.0)

    @cython.binding(False)
    @cython.embedsignature(True)
    @cython.embedsignature.format('clinic')
    def log(self) -> Value:
        return _with_constant(FG_LOG, self, 0.0)

    @cython.binding(False)
    @cython.embedsignature(True)
    @cython.embedsignature.format('clinic')
    def sqrt(self) -> Value:
        return _with_constant(FG_SQRT, self, 0.0)

    # -- comparisons and conversions -------------------------------------------------
    # Comparisons are Python float's against the other side's data or number: exact
    # with ints of any size, NotImplemented (so TypeError) for what floats refuse.
    def __lt__(self, other):
        return (<object>G.data[_node_of(self)]).__lt__(_cmp_operand(other))

    def __le__(self, other):
        return (<object>G.data[_node_of(self)]).__le__(_cmp_operand(other))

    def __gt__(self, other):
        return (<object>G.data[_node_of(self)]).__gt__(_cmp_operand(other))

    def __ge__(self, other):
        return (<object>G.data[_node_of(self)]).__ge__(_cmp_operand(other))

    def __reduce__(self):
        # a Value pickles and deep-copies as a leaf: its graph is not data, and leaves
        # never recurse, however deep the graph behind them
        cdef fg_id id = _node_of(self)
        return _restore, (G.data[id], G.grad[id], self.label)

    def __hash__(self):
        # identity, as object.__hash__ (a class defining < must spell it out in C):
        # == stays identity too, so Values live in sets and dicts as in micrograd
        cdef size_t y = <size_t><void *>self
        cdef Py_hash_t h = <Py_hash_t>((y >> 4) | (y << (8 * sizeof(void *) - 4)))
        return -2 if h == -1 else h

    def __float__(self) -> float:
        return G.data[_node_of(self)]

    def __repr__(self) -> str:
        return f"Value(data={G.data[_node_of(self)]!r}, grad={G.grad[_node_of(self)]!r})"

    # -- gradients -------------------------------------------------------------------
    @cython.binding(False)
    @cython.embedsignature(True)
    @cython.embedsignature.format('clinic')
    def backward(self) -> None:
        """Set this Value's grad to 1 and accumulate d(self)/d(node) into every node."""
        cdef int err = fg_backward(&G, _node_of(self))
        if err:
            _raise(err)

    @cython.binding(False)
    @cython.embedsignature(True)
    @cython.embedsignature.format('clinic')
    def zero_grad(self) -> None:
        G.grad[_node_of(self)] = 0.0

    def _recompute(self) -> None:
        """Recompute this node's data from its operands' data as they are now, as a
        replay does node by node (a leaf keeps its data). For tests of that path."""
        cdef int err = fg_forward_node(&G, _node_of(self))
        if err:
            _raise(err)


# -- facades of existing nodes -----------------------------------------------------------

cdef Value _facade(fg_id id):
    """The one facade of node id, made if it has none."""
    cdef void *o = fg_owner(&G, id)
    if o != NULL:
        return <Value>o
    cdef Value v = _blank()
    v.id = id
    fg_adopt(&G, id, <void *>v)
    return v


cdef list _children(fg_id id):
    cdef list out = []
    cdef int32_t k = 0
    cdef fg_id node = FG_NONE
    cdef double c = 0.0
    while fg_slot(&G, id, k, &node, &c):  # the slots that hold a node, in order
        if node != FG_NONE:
            out.append(_facade(node))
        k += 1
    return out


cdef tuple _slots_of(fg_id id):
    """Node id's operand slots (fg_slot): each operand's facade, or its constant."""
    cdef list out = []
    cdef int32_t k = 0
    cdef fg_id node = FG_NONE
    cdef double c = 0.0
    while fg_slot(&G, id, k, &node, &c):
        out.append(_facade(node) if node != FG_NONE else c)
        k += 1
    return tuple(out)


class no_grad:
    """Context in which operations record no graph: results are leaf Values."""

    def __enter__(self) -> None:
        global fastgrad_grad_off, fastgrad_no_grad_open
        self._prev = fastgrad_grad_off
        fastgrad_grad_off = 1
        fastgrad_no_grad_open += 1

    def __exit__(self, *exc) -> None:
        global fastgrad_grad_off, fastgrad_no_grad_open
        fastgrad_grad_off = self._prev
        fastgrad_no_grad_open -= 1


def is_grad_enabled() -> bool:
    return not _grad_off()


def _restore(double data, double grad, str label) -> Value:
    """A leaf Value as pickled: its data, grad and label (the graph is not kept)."""
    cdef Value v = Value(data, label=label)
    G.grad[v.id] = grad
    return v
