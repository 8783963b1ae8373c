# Custom nodes, micrograd's recipe for a new op: Value(data, _children, _op) with a
# _backward closure (included by _core.pyx after _value.pxi; csrc/custom.h is the
# node, fastgrad/pure/engine.py the twin). Value.__init__ makes them through
# _new_rec and _custom_node.


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


G.run_backward = _run_backward
G.pin_owner = _pin_owner
G.unpin_owner = _unpin_owner


def _nothing() -> None:
    """A custom node's _backward until one is set: it passes nothing back (micrograd's)."""


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
    cdef Py_ssize_t n = PyVectorcall_NARGS(nargsf)
    cdef Value leaf
    if n > 1 or kwnames != NULL:  # (a leaf's call: not even this)
        if _vector_makes_custom(args, n, kwnames):
            return PyObject_Vectorcall(_Custom, args, nargsf, kwnames)
    elif n == 1 and t is Value:  # Value(x), a leaf: the most common call of all
        leaf = _plain_leaf(<object>args[0])
        if leaf is not None:
            return leaf
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
