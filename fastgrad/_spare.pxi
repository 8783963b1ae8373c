# Spare Value facades and Value's own tp_dealloc (included by _core.pyx after
# _value.pxi): the cost of making and dropping the facade of every operation.


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

    /* The spare fg_spare_take hands out next (there is one), left in place. */
    static inline PyObject *fg_spare_next(void)
    {
        return fg_spare[fg_nspare - 1];
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
    int fg_nspare
    void *fg_spare_next()
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
        return _new_facade()
    return fg_steal(o)


cdef Value _new_facade():
    """_blank's object when no spare is left: out of line, so that _blank stays small
    enough to go in line in every operation."""
    return Value.__new__(Value)
