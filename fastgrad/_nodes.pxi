# Making nodes: a facade on each new node, the common case in line (included by
# _core.pyx after _value.pxi; Value's methods and number slots call these).

# An operator's other operand that is no number: the ufunc it stands for, by code
cdef enum:
    _U_ADD, _U_SUB, _U_MUL, _U_DIV, _U_POW
cdef tuple _UFUNCS = (np.add, np.subtract, np.multiply, np.true_divide, np.power)


cdef object _no_number(int ufunc, object a, object b):
    """What an operator gives for an operand that is no number: an array's elementwise
    result (fastgrad.elementwise), else NotImplemented. Out of line, with the ufunc by
    code, so that every operator stays small enough to go in line in its slot."""
    return elementwise.with_array(_UFUNCS[ufunc], a, b)


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


cdef inline PyObject *_new_fast(int op, double data, fg_id a, fg_id b, double c) noexcept:
    """_new's common case, in line: a spare facade, no no_grad block open in any thread,
    and a node fg_node_fast makes. It calls nothing, so an operation saves no register
    for it. A new reference, or NULL (no error set, nothing changed) for any other case."""
    cdef fg_id id
    cdef PyObject *v
    if not fg_nspare or fastgrad_no_grad_open:
        return NULL
    id = fg_node_fast(&G, op, data, a, b, c, fg_spare_next())
    if id == FG_NONE:
        return NULL
    v = fg_spare_take()
    (<Value>v).id = id
    return v


cdef inline Value _new(int op, double data, fg_id a, fg_id b, double c):
    """A facade on a new node; a leaf under no_grad."""
    cdef PyObject *v = _new_fast(op, data, a, b, c)
    if v != NULL:
        return fg_steal(v)
    return _new_general(op, data, a, b, c)


cdef Value _new_general(int op, double data, fg_id a, fg_id b, double c):
    """_new in general. The facade is made first: if the node cannot be, the facade dies
    owning nothing."""
    cdef Value v = _blank()
    if not _grad_off():
        return _own(v, fg_node(&G, op, data, a, b, c, <void *>v))
    return _own(v, fg_leaf(&G, data, <void *>v))


cdef Value _plain_leaf(object x):
    """Value(x) for a float or an int x, as __init__ makes it, on a spare facade (the
    call's own path takes a new object, parses four arguments, checks each); None for
    any other x, which __init__ converts."""
    cdef double d
    if type(x) is float:
        d = PyFloat_AS_DOUBLE(x)
    elif type(x) is int:
        d = PyLong_AsDouble(x)  # an int too large raises OverflowError, as in __init__
    else:
        return None
    cdef Value v = _blank()
    return _own(v, fg_leaf(&G, d, <void *>v))


cdef inline double _minus(double c):
    """The constant of x - c as an addition: x - c is exactly x + (-c), but for a nan c,
    which x - c passes on as it is."""
    return c if c != c else -c


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
