# Value's number slots for +, -, *, / and ** (included by _core.pyx after _nodes.pxi).
#
# Cython makes each slot from a pair of methods (__add__ and __radd__): the slot calls
# one, then the other on NotImplemented, and each method looks at its operands' types
# again. Here the operations of exact Values on each other and on exact floats and ints,
# nearly all of a graph's, make their node in the slot itself, with no call; any other
# case (a subclass, a numpy scalar, an array, an error, no_grad, a full store) goes on
# to Cython's slot, so the methods stay the one definition of what an operator does.
# This is a tenth of an operation: ~25 fewer instructions of ~280.
#
# An operator set on the class at run time (Value.__mul__ = f) takes the slot from us,
# as it does from any class (type_setattro); put back, the slot is Cython's again.

ctypedef PyObject *(*_binop)(PyObject *, PyObject *) noexcept
ctypedef PyObject *(*_ternop)(PyObject *, PyObject *, PyObject *) noexcept

cdef extern from *:
    """
    #define fg_number_slots(t) (((PyTypeObject *)(t))->tp_as_number)
    """
    ctypedef struct PyNumberMethods:
        _binop nb_add
        _binop nb_subtract
        _binop nb_multiply
        _binop nb_true_divide
        _ternop nb_power
    PyNumberMethods *fg_number_slots(object t)


cdef inline PyObject *_fast_binary(int op, PyObject *a, PyObject *b) noexcept:
    cdef fg_id x = (<Value>a).id, y = (<Value>b).id
    cdef double out = 0.0
    if x == FG_NONE or y == FG_NONE or fg_forward(op, G.data[x], G.data[y], &out):
        return NULL
    return _new_fast(op, out, x, y, 0.0)


cdef inline PyObject *_fast_constant(int op, PyObject *a, double c) noexcept:
    cdef fg_id x = (<Value>a).id
    cdef double out = 0.0
    if x == FG_NONE or fg_forward(op, G.data[x], c, &out):
        return NULL
    return _new_fast(op, out, x, FG_NONE, c)


cdef inline PyObject *_fast(PyObject *a, PyObject *b, int vv, int vc, int cv,
                            bint minus) noexcept:
    """a op b, as the methods make it, where a and b are exact Values (op vv), or one is
    and the other an exact float or int: the constant of op vc after a Value (negated
    if minus, as x - c is), of op cv before one. NULL, and no error set, for any other
    case, or where the methods would do more than _new_fast."""
    cdef PyTypeObject *t = <PyTypeObject *>Value
    cdef double c
    if _type_of(a) == t:
        if _type_of(b) == t:
            return _fast_binary(vv, a, b)
        if _exact_number(b, &c):
            return _fast_constant(vc, a, _minus(c) if minus else c)
    elif _type_of(b) == t and _exact_number(a, &c):
        return _fast_constant(cv, b, c)
    return NULL


# the slots Cython made, which every case _fast declines goes to
cdef _binop _cython_add, _cython_sub, _cython_mul, _cython_div
cdef _ternop _cython_pow


cdef PyObject *_nb_add(PyObject *a, PyObject *b) noexcept:
    cdef PyObject *r = _fast(a, b, FG_ADD, FG_ADDC, FG_ADDC, False)
    return r if r != NULL else _cython_add(a, b)


cdef PyObject *_nb_subtract(PyObject *a, PyObject *b) noexcept:
    cdef PyObject *r = _fast(a, b, FG_SUB, FG_ADDC, FG_RSUBC, True)
    return r if r != NULL else _cython_sub(a, b)


cdef PyObject *_nb_multiply(PyObject *a, PyObject *b) noexcept:
    cdef PyObject *r = _fast(a, b, FG_MUL, FG_MULC, FG_MULC, False)
    return r if r != NULL else _cython_mul(a, b)


cdef PyObject *_nb_true_divide(PyObject *a, PyObject *b) noexcept:
    cdef PyObject *r = _fast(a, b, FG_DIV, FG_DIVC, FG_RDIVC, False)
    return r if r != NULL else _cython_div(a, b)


cdef PyObject *_nb_power(PyObject *a, PyObject *b, PyObject *mod) noexcept:
    cdef PyObject *r = NULL
    if mod == <PyObject *>None:
        r = _fast(a, b, FG_POW, FG_POWC, FG_RPOWC, False)
    return r if r != NULL else _cython_pow(a, b, mod)


cdef PyNumberMethods *_value_slots = fg_number_slots(Value)
_cython_add, _cython_sub, _cython_mul = _value_slots.nb_add, _value_slots.nb_subtract, _value_slots.nb_multiply
_cython_div, _cython_pow = _value_slots.nb_true_divide, _value_slots.nb_power
_value_slots.nb_add, _value_slots.nb_subtract, _value_slots.nb_multiply = _nb_add, _nb_subtract, _nb_multiply
_value_slots.nb_true_divide, _value_slots.nb_power = _nb_true_divide, _nb_power
