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


# A custom node's hooks (csrc/custom.h): its closure, and the store's references on
# its facade. The closure may raise: backward() then raises it (_raise, FG_ECLOSURE).
cdef int _run_backward(fg_graph *g, fg_id id) except -1:
    cdef void *o = fg_owner(g, id)
    cdef _CustomOp rec = _rec_of(<Value>o) if o != NULL else None
    if rec is not None and rec.closure is not None:  # (a facade the collector is
        rec.closure()                                # tearing down passes nothing back)
    return 0


cdef void _pin_owner(void *o) noexcept:
    Py_XINCREF(<PyObject *>o)


cdef void _unpin_owner(void *o) noexcept:
    Py_XDECREF(<PyObject *>o)


G.drop_label = _drop_label
G.run_backward = _run_backward
G.pin_owner = _pin_owner
G.unpin_owner = _unpin_owner


def _nothing() -> None:
    """A custom node's _backward until one is set: it passes nothing back (micrograd's)."""


cdef inline object _cmp_operand(object other):
    return G.data[_node_of(<Value>other)] if isinstance(other, Value) else other


cdef class Value:
    """A scalar and its gradient, remembering how it was computed."""

    cdef fg_id id  # 0 (FG_NONE) until the facade owns a node
    # weakref.ref(v) as on pure; no GC tracking, and the object stays within 32 bytes
    cdef object __weakref__

    def __array_ufunc__(self, ufunc, method: str, *inputs, **kwargs):
        """numpy arrays and scalars with Values, as on micrograd (fastgrad.elementwise)."""
        return elementwise.array_ufunc(ufunc, method, inputs, kwargs)

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
    def __add__(self, other):
        cdef double c
        if isinstance(other, Value):
            return _binary(FG_ADD, self, <Value>other)
        if not _number(other, &c):
            return NotImplemented
        return _with_constant(FG_ADDC, self, c)

    def __radd__(self, other):
        cdef double c
        # other is a Value when self's class is a subclass of other's: Python asks the
        # subclass first. Its data is no constant (Value has __float__): keep the edge.
        if isinstance(other, Value):
            return _binary(FG_ADD, other, self)
        if not _number(other, &c):
            return NotImplemented
        return _with_constant(FG_ADDC, self, c)

    def __sub__(self, other):
        cdef double c
        if isinstance(other, Value):
            return _binary(FG_SUB, self, <Value>other)
        if not _number(other, &c):
            return NotImplemented
        # x - c is exactly x + (-c), but for a nan c, which x - c passes on as it is
        return _with_constant(FG_ADDC, self, c if c != c else -c)

    def __rsub__(self, other):
        cdef double c
        if isinstance(other, Value):  # see __radd__
            return _binary(FG_SUB, other, self)
        if not _number(other, &c):
            return NotImplemented
        return _with_constant(FG_RSUBC, self, c)

    def __mul__(self, other):
        cdef double c
        if isinstance(other, Value):
            return _binary(FG_MUL, self, <Value>other)
        if not _number(other, &c):
            return NotImplemented
        return _with_constant(FG_MULC, self, c)

    def __rmul__(self, other):
        cdef double c
        if isinstance(other, Value):  # see __radd__
            return _binary(FG_MUL, other, self)
        if not _number(other, &c):
            return NotImplemented
        return _with_constant(FG_MULC, self, c)

    def __truediv__(self, other):
        cdef double c
        if isinstance(other, Value):
            return _binary(FG_DIV, self, <Value>other)
        if not _number(other, &c):
            return NotImplemented
        return _with_constant(FG_DIVC, self, c)

    def __rtruediv__(self, other):
        cdef double c
        if isinstance(other, Value):  # see __radd__
            return _binary(FG_DIV, other, self)
        if not _number(other, &c):
            return NotImplemented
        return _with_constant(FG_RDIVC, self, c)

    def __pow__(self, other, mod=None):
        cdef double c
        if mod is not None:
            return NotImplemented
        if isinstance(other, Value):
            return _binary(FG_POW, self, <Value>other)
        if not _number(other, &c):
            return NotImplemented
        return _with_constant(FG_POWC, self, c)

    def __rpow__(self, other, mod=None):
        cdef double c
        if mod is None and isinstance(other, Value):  # see __radd__
            return _binary(FG_POW, other, self)
        if mod is not None or not _number(other, &c):
            return NotImplemented
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

    def relu(self) -> Value:
        return _with_constant(FG_RELU, self, 0.0)

    def tanh(self) -> Value:
        return _with_constant(FG_TANH, self, 0.0)

    def sigmoid(self) -> Value:
        return _with_constant(FG_SIGMOID, self, 0.0)

    def exp(self) -> Value:
        return _with_constant(FG_EXP, self, 0.0)

    def log(self) -> Value:
        return _with_constant(FG_LOG, self, 0.0)

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
    def backward(self) -> None:
        """Set this Value's grad to 1 and accumulate d(self)/d(node) into every node."""
        cdef int err = fg_backward(&G, _node_of(self))
        if err:
            _raise(err)

    def zero_grad(self) -> None:
        G.grad[_node_of(self)] = 0.0

    def _recompute(self) -> None:
        """Recompute this node's data from its operands' data as they are now, as a
        replay does node by node (a leaf keeps its data). For tests of that path."""
        cdef int err = fg_forward_node(&G, _node_of(self))
        if err:
            _raise(err)


@cython.auto_pickle(False)
cdef class _CustomOp:
    """What a custom node (Value(data, _children, _op), csrc/custom.h) needs its facade
    to keep: the op, the children's facades (so the collector sees the graph between
    custom nodes) and the _backward closure. Tracked by the collector: the lecture's
    closure captures its own node, a cycle only the collector can free."""

    cdef object closure  # None until the node is made
    cdef str op
    cdef tuple kids


@cython.auto_pickle(False)  # pickles as a Value does: a leaf (Value.__reduce__)
cdef class _Custom(Value):
    """The facade Value() makes for a custom node: a Value with room for its _CustomOp
    (a Python subclass of Value keeps it in its instance dict instead)."""

    cdef _CustomOp rec  # None for a facade that made a leaf after all


cdef str _REC_KEY = "_fastgrad_custom_op"


cdef _CustomOp _rec_of(Value v):
    """v's custom op record, None for a facade of no custom node."""
    if type(v) is _Custom:
        return (<_Custom>v).rec
    if type(v) is Value:
        return None
    d = getattr(v, "__dict__", None)  # a subclass (one without a dict keeps none)
    return d.get(_REC_KEY) if type(d) is dict else None


cdef _CustomOp _new_rec(Value v):
    """A fresh record on v, which is about to make a custom node: a _Custom, or an
    instance of a Python subclass of Value (its dict keeps the record)."""
    cdef _CustomOp rec = _CustomOp.__new__(_CustomOp)
    if type(v) is _Custom:
        (<_Custom>v).rec = rec
        return rec
    d = getattr(v, "__dict__", None) if type(v) is not Value else None
    if type(d) is not dict:
        raise checks.custom_type(type(v))
    (<dict>d)[_REC_KEY] = rec
    return rec


# Value() picks the facade type by its arguments, before __init__ runs: _Custom where
# children or an op are given (a sized empty collection of children and an empty op
# make a leaf). Both ways of calling the type are covered: Cython's vectorcall (what a
# call from Python uses) and tp_new (type.__call__). A built-in op's node never comes
# this way (_new calls the original tp_new).
cdef extern from "Python.h":
    ctypedef object (*vectorcallfunc)(object, PyObject **, size_t, PyObject *)
    ctypedef struct _VectorcallType "PyTypeObject":
        vectorcallfunc tp_vectorcall
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)
    object PyObject_Vectorcall(object f, PyObject **args, size_t nargsf, PyObject *kwnames)

cdef newfunc _value_tp_new = (<PyTypeObject *>Value).tp_new
cdef vectorcallfunc _value_vectorcall = (<_VectorcallType *>Value).tp_vectorcall


cdef object _make_value(type t, PyObject *args, PyObject *kwds):
    if t is Value and (PyTuple_GET_SIZE(<object>args) > 1 or kwds != NULL):
        if _args_make_custom(<tuple>args, <dict>kwds if kwds != NULL else None):
            # _Custom's own tp_new: it sets the fields Value's leaves unset (NULL)
            return (<PyTypeObject *>_Custom).tp_new(_Custom, args, kwds)
    return _value_tp_new(t, args, kwds)


cdef bint _args_make_custom(tuple a, dict k) except -1:
    return _makes_custom(a[1] if len(a) > 1 else k.get("_children", ()) if k else (),
                         a[2] if len(a) > 2 else k.get("_op", "") if k else "")


cdef object _call_value(object t, PyObject **args, size_t nargsf, PyObject *kwnames):
    if PyVectorcall_NARGS(nargsf) > 1 or kwnames != NULL:  # (a leaf's call: not even this)
        if _vector_makes_custom(args, PyVectorcall_NARGS(nargsf), kwnames):
            return PyObject_Vectorcall(_Custom, args, nargsf, kwnames)
    return _value_vectorcall(t, args, nargsf, kwnames)


cdef bint _vector_makes_custom(PyObject **args, Py_ssize_t n, PyObject *kwnames) except -1:
    cdef Py_ssize_t i
    cdef object kids = <object>args[1] if n > 1 else (), op = <object>args[2] if n > 2 else ""
    if kwnames != NULL:
        for i in range(len(<tuple>kwnames)):
            if (<tuple>kwnames)[i] == "_children":
                kids = <object>args[n + i]
            elif (<tuple>kwnames)[i] == "_op":
                op = <object>args[n + i]
    return _makes_custom(kids, op)


cdef bint _makes_custom(object kids, object op) noexcept:
    if type(kids) is tuple or type(kids) is list:
        return len(kids) > 0 or (type(op) is str and len(<str>op) > 0)
    return True


(<PyTypeObject *>Value).tp_new = <newfunc>_make_value
if _value_vectorcall != NULL:
    (<_VectorcallType *>Value).tp_vectorcall = <vectorcallfunc>_call_value


cdef inline Value _custom_of(fg_id id):
    """The facade of custom node id: it has one as long as it lives (custom.h)."""
    return <Value>fg_owner(&G, id)


cdef fg_id _custom_node(Value self, double x, tuple kids) except FG_NONE:
    """A custom node of data x over kids (Values), owned by self."""
    cdef Py_ssize_t i, n = len(kids)
    cdef fg_block *b
    cdef fg_id id
    for i in range(n):  # every check first: from the block on, no Python runs
        if not isinstance(kids[i], Value):
            raise checks.not_a_child(kids[i])
        _node_of(<Value>kids[i])
    b = fg_block_new(&G, <int32_t>n)
    if b == NULL:
        raise MemoryError("fastgrad: cannot allocate an operand block")
    for i in range(n):
        fg_block_fill(b, <int32_t>i, (<Value>kids[i]).id, 0.0)
    id = fg_custom_new(&G, x, b, <void *>self)
    if id == FG_NONE:
        fg_block_drop(&G, b)
        _raise(FG_ENOMEM)
    return id


# -- making nodes ----------------------------------------------------------------------

cdef inline fg_id _node_of(Value v) except FG_NONE:
    """v's node; an error for a Value whose __init__ never ran (Value.__new__, or a
    subclass skipping it), which owns none: never slot 0, shared by all such."""
    if v.id == FG_NONE:
        raise checks.uninitialised(v)
    return v.id


cdef inline Value _own(Value v, fg_id id):
    if id == FG_NONE:
        _raise(FG_ENOMEM)
    v.id = id
    return v


# -- facades: a list of spare ones, and a tp_dealloc of our own -----------------------
# Cython's tp_dealloc saves and restores the error indicator around __dealloc__ on each
# death, its tp_new clears the object first: a quarter of an operation's cost. A Value
# that dies as it is (type set, weakref list empty, refcount 0, no reference to its
# type) waits in fg_spare for _blank. Python code runs on a death only to drop a label,
# and _drop_label keeps the error indicator itself. Cython's tp_dealloc (__dealloc__)
# stays for cdef subclasses, which call it by name; subclasses made in Python reach ours
# through the slot. Value is a static type, but a heap type where Cython builds types
# from specs (CYTHON_USE_TYPE_SPECS): then its objects hold a reference to their type,
# and its tp_dealloc drops it (for subclasses made in Python too, as CPython asks of a
# heap base).
cdef extern from *:
    """
    #define FG_SPARE_MAX 1024
    static PyObject *fg_spare[FG_SPARE_MAX];
    static int fg_nspare;

    /* A spare facade, its refcount 1 again (a new reference), or NULL if none: what
     * PyObject_Init does, but for tracemalloc's note of where an object is reused;
     * builds that track references (debug, free-threaded) take PyObject_Init. */
    static inline PyObject *fg_spare_take(void)
    {
        PyObject *o;
        if (!fg_nspare)
            return NULL;
        o = fg_spare[--fg_nspare];
    #if defined(Py_TRACE_REFS) || defined(Py_REF_DEBUG) || defined(Py_GIL_DISABLED)
        return PyObject_Init(o, Py_TYPE(o));
    #else
        Py_SET_REFCNT(o, 1);
    #if CYTHON_USE_TYPE_SPECS
        Py_INCREF(Py_TYPE(o));
    #endif
        return o;
    #endif
    }

    /* The memory of dead object o (of type t or a subclass): kept in fg_spare if o is
     * exactly a t. */
    static inline void fg_spare_give(PyObject *o, PyTypeObject *t)
    {
        PyTypeObject *type = Py_TYPE(o);
        if (type == t && fg_nspare < FG_SPARE_MAX)
            fg_spare[fg_nspare++] = o;
        else
            type->tp_free(o);
    #if CYTHON_USE_TYPE_SPECS
        Py_DECREF(type);
    #endif
    }

    /* A finalizer set on the class at run time (Value.__del__ = f) runs first, as in
     * Cython's tp_dealloc: 1 if it resurrected o. Only where o's tp_dealloc is this one
     * (self): a subclass made in Python runs its finalizer before it calls ours. */
    static inline int fg_finalized_alive(PyObject *o, destructor self)
    {
        PyTypeObject *type = Py_TYPE(o);
        return type->tp_finalize && type->tp_dealloc == self
               && PyObject_CallFinalizerFromDealloc(o);
    }

    static inline int fg_has_weakrefs(PyObject *o)
    {
        return *(PyObject **)((char *)o + Py_TYPE(o)->tp_weaklistoffset) != NULL;
    }

    #define fg_set_dealloc(t, f) (((PyTypeObject *)(t))->tp_dealloc = (destructor)(f))
    #define fg_steal(o) (o)
    """
    PyObject *fg_spare_take()
    void fg_spare_give(PyObject *o, PyTypeObject *t)
    bint fg_finalized_alive(PyObject *o, void (*self)(PyObject *) noexcept)
    bint fg_has_weakrefs(PyObject *o)
    void fg_set_dealloc(object t, void (*f)(PyObject *) noexcept)
    Value fg_steal(PyObject *o)  # o's reference becomes the Value's
    void PyObject_ClearWeakRefs(PyObject *o)


cdef void _value_dealloc(PyObject *o) noexcept:
    if fg_finalized_alive(o, _value_dealloc):
        return
    if fg_has_weakrefs(o):
        PyObject_ClearWeakRefs(o)
    cdef fg_id id = (<Value>o).id
    if id != FG_NONE:
        (<Value>o).id = FG_NONE  # as _blank hands it out
        fg_disown(&G, id)
    fg_spare_give(o, <PyTypeObject *>Value)


fg_set_dealloc(Value, _value_dealloc)


cdef inline Value _blank():
    """A Value that owns no node yet (a spare one if there is)."""
    cdef PyObject *o = fg_spare_take()
    if o == NULL:
        return Value.__new__(Value)
    return fg_steal(o)


cdef inline Value _new(int op, double data, fg_id a, fg_id b, double c):
    """A facade on a new node; a leaf under no_grad. The facade is made first: if the
    node cannot be, the facade dies owning nothing."""
    cdef Value v = _blank()
    if not _grad_off():
        return _own(v, fg_node(&G, op, data, a, b, c, <void *>v))
    return _own(v, fg_leaf(&G, data, <void *>v))


cdef inline Value _binary(int op, Value a, Value b):
    """A node of binary op on a's and b's data."""
    cdef double out = 0.0  # set by fg_forward unless it fails
    cdef fg_id x = _node_of(a), y = _node_of(b)
    cdef int err = fg_forward(op, G.data[x], G.data[y], &out)
    if err:
        _raise(err)
    return _new(op, out, x, y, 0.0)


cdef inline Value _with_constant(int op, Value a, double c):
    """A node of op on a's data and the constant c, folded in (0.0 for a unary op)."""
    cdef double out = 0.0  # set by fg_forward unless it fails
    cdef fg_id x = _node_of(a)
    cdef int err = fg_forward(op, G.data[x], c, &out)
    if err:
        _raise(err)
    return _new(op, out, x, FG_NONE, c)


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
