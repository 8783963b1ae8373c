# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled backend: a Value facade over the C graph store in csrc/.

A Value is one small object holding a node id. The store keeps at most one facade
per node (its "owner"), so `_prev` hands back the same objects while they live, and
the facade's reference keeps its node alive. Everything numeric happens in C with
the rules of fastgrad/pure, the specification.

This file holds the store handle, the errors and the number conversion, and includes
one file per concern, each the counterpart of a module of fastgrad/pure:
_value.pxi (Value, the engine), _nodes.pxi (making nodes), _custom.pxi (micrograd's
custom ops), _spare.pxi (spare facades, Value's tp_dealloc), _slots.pxi (Value's number
slots: the common operands in line), _fused.pxi (sum, dot, Dense, Network),
_kernels.pxi (bulk data access, optimizer steps, predict), _replay.pxi (recorded
graphs, fastgrad.compile's engine), _floor.pxi (the bench's plain-C moons step).

Rule for all of them: never hold a pointer into the store (G.data, ...) across
anything that can run Python code or allocate a node: both may move the arrays.
"""
cimport cython
from cpython.exc cimport PyErr_Fetch, PyErr_Occurred, PyErr_Restore
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_AsDouble, PyFloat_Check
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_AsDouble, PyLong_Check
from cpython.object cimport PyObject, PyTypeObject, newfunc
from cpython.ref cimport Py_INCREF, Py_XDECREF, Py_XINCREF
from cpython.tuple cimport PyTuple_GET_SIZE
from libc.stdint cimport int32_t
from libc.stdlib cimport calloc, free, malloc

import numpy as np

from fastgrad import checks, elementwise
from fastgrad.records import HiddenLayer, HiddenNeuron, MlpRecord

from fastgrad._csrc cimport *
from fastgrad._ops cimport *  # the op codes, generated from csrc/ops.def by setup.py

__all__ = [
    "Value", "Dense", "Network", "sum", "dot", "layer", "mlp", "no_grad", "is_grad_enabled", "stats",
    "set_node_limit",
    "get_data", "set_data", "get_grad", "set_grad", "sgd_step", "adam_step", "mlp_predict",
    "Replay", "mlp_record",
]

# The one store every Value's node lives in.
cdef fg_graph G
if fg_init(&G, fg_release_rules):
    raise MemoryError("fastgrad: cannot allocate the graph store")

# The grad mode is per thread, as in PyTorch: no_grad in one thread leaves the
# others recording. A C thread-local, read only while some thread is in no_grad:
# fastgrad_no_grad_open counts the no_grad blocks open in all threads (a thread that
# ends inside one leaves it open: then every operation reads its thread's flag), and a
# thread-local read from a shared library is a call, a tenth of an operation's cost.
cdef extern from *:
    """
    #if defined(_MSC_VER)
    static __declspec(thread) int fastgrad_grad_off;
    #else
    static __thread int fastgrad_grad_off;
    #endif
    static Py_ssize_t fastgrad_no_grad_open;
    #define FASTGRAD_GRAD_OFF() (fastgrad_no_grad_open && fastgrad_grad_off)
    """
    int fastgrad_grad_off
    Py_ssize_t fastgrad_no_grad_open
    bint _grad_off "FASTGRAD_GRAD_OFF" ()

cdef tuple _OP_NAMES = tuple(fg_op_name[i].decode() for i in range(<int>FG_NOPS))
cdef tuple _OP_TABLE = tuple((fg_op_code[i].decode().lower(), _OP_NAMES[i], fg_op_arity[i])
                             for i in range(<int>FG_NOPS))


def op_table() -> tuple:
    """Every op of csrc/ops.def, in its order (the op codes' order): (code, label,
    arity), code ops.def's in lower case ("addc"), label micrograd's ("+"), arity the
    node operands: 2, or 1 (a unary op, or one with a folded constant: x + 2), 0 for a
    leaf, -1 for an n-ary op (sum, dot, a fused network's nodes)."""
    return _OP_TABLE


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
    if err == FG_ECLOSURE and PyErr_Occurred():
        return -1  # a custom node's closure raised: its exception goes on
    raise MemoryError(checks.NO_ROOM)


# checks.is_real_type's answer per type, looked up without a call: numpy scalars in
# hot loops pay neither the call nor the ABC checks
cdef dict _REAL_TYPES = {}


cdef double _to_double(object x) except? -1.0:
    """The float Python arithmetic would use for x; TypeError if it is no number."""
    if PyFloat_Check(x):  # float and its subclasses, numpy.float64 among them
        return PyFloat_AS_DOUBLE(x)
    if PyLong_Check(x):
        return PyLong_AsDouble(x)
    cdef object real = _REAL_TYPES.get(type(x))
    if real is None:
        real = _REAL_TYPES[type(x)] = checks.is_real_type(type(x))
    if not real:
        return checks.as_float(x)  # raises its TypeError
    return PyFloat_AsDouble(x)


cdef extern from *:
    PyTypeObject PyFloat_Type
    PyTypeObject PyLong_Type
    PyTypeObject *_type_of "Py_TYPE" (PyObject *o)
    double _float_value "PyFloat_AS_DOUBLE" (PyObject *o)
    double _long_value "PyLong_AsDouble" (PyObject *o)  # -1.0 and an error if too large
    void PyErr_Clear()


cdef inline bint _exact_number(PyObject *o, double *out) noexcept:
    """An exact float or int o as a float, as x + 1 converts it; False, and no error
    set, for any other o and for an int too large for a float (_number raises its
    OverflowError). Value's number slots call it too (_slots.pxi)."""
    if _type_of(o) == &PyFloat_Type:
        out[0] = _float_value(o)
        return True
    if _type_of(o) != &PyLong_Type:
        return False
    out[0] = _long_value(o)
    if out[0] == -1.0 and PyErr_Occurred():
        PyErr_Clear()
        return False
    return True



cdef inline bint _number(object x, double *out) except -1:
    """Store x as a float in out; False if x is no number (the op is NotImplemented).
    Floats and ints inline (_exact_number); anything else, and an int too large,
    through its __float__ or __index__ (an int too large raises OverflowError)."""
    if _exact_number(<PyObject *>x, out):
        return True
    return _other_number(x, out)


cdef bint _other_number(object x, double *out) except -1:
    if elementwise.is_array(x):  # elementwise, not converted even if of size 1
        return False
    try:
        out[0] = _to_double(x)
    except TypeError:
        return False
    return True


def set_node_limit(limit) -> None:  # (untyped: Cython would convert an "int" first)
    """Cap the number of live nodes (None: no cap). Past it an operation raises
    MemoryError and changes nothing, as when memory runs out."""
    fg_set_max_live(&G, checks.node_limit(limit))


def stats() -> dict:
    """live_nodes; bytes: what the live nodes and their operand blocks take;
    node_bytes: one node's share of the store's arrays; reserved_bytes: what the store
    holds (every chunk of the arrays not given back, blocks, scratch)."""
    return {"live_nodes": G.live, "bytes": fg_bytes_in_use(&G),
            "node_bytes": fg_bytes_per_slot(), "reserved_bytes": fg_bytes_reserved(&G)}


include "_value.pxi"
include "_nodes.pxi"
include "_custom.pxi"
include "_spare.pxi"
include "_slots.pxi"
include "_fused.pxi"
include "_kernels.pxi"
include "_replay.pxi"
include "_floor.pxi"


# micrograd's Value is a plain Python class: lectures add methods to it at run time
# (`Value.tanh = tanh`). Cython marks an extension type immutable; a static type
# without the flag takes attribute assignment as a heap type does (type_setattro
# then updates its slots too). Python 3.9 refuses it for any static type, so there
# setup.py builds the module's types from specs (heap types) instead.
cdef extern from *:
    """
    static void fastgrad_allow_setattr(PyObject *type)
    {
    #if PY_VERSION_HEX >= 0x030A0000
        PyTypeObject *t = (PyTypeObject *)type;
        t->tp_flags &= ~Py_TPFLAGS_IMMUTABLETYPE;
        PyType_Modified(t);
    #endif
    }
    """
    void fastgrad_allow_setattr(object t)


fastgrad_allow_setattr(Value)
