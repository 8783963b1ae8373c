# Replay: a recorded graph, recomputed and swept in C (included by _core.pyx; the
# counterpart of fastgrad/pure/replay.py). fastgrad.compile is its front.


from cpython.pythread cimport (NOWAIT_LOCK, WAIT_LOCK, PyThread_acquire_lock,
                               PyThread_allocate_lock, PyThread_release_lock,
                               PyThread_type_lock)

# A replay of this many nodes or more lets the GIL go while it runs (as numpy does above
# a size): letting it go and taking it back costs well under 1 us, and a thread waiting for it
# may keep it up to the switch interval (5 ms); a replay of 2048 nodes takes ~15 us.
cdef size_t _UNLOCKED_NODES = 2048

# Held while any replay runs without the GIL (the first to start takes it, the last to
# end lets it go): the store is pinned meanwhile, and a thread whose next node would
# grow the node arrays waits on it (csrc/store.h).
cdef PyThread_type_lock _unlocked = PyThread_allocate_lock()
if _unlocked == NULL:
    raise MemoryError(checks.NO_ROOM)


cdef void _wait_unpinned(fg_graph *g) noexcept:
    # from fg_refill, with the GIL: wait, without it, until no replay runs without it
    while g.pinned:
        with nogil:
            PyThread_acquire_lock(_unlocked, WAIT_LOCK)
            PyThread_release_lock(_unlocked)


G.wait_unpinned = _wait_unpinned


cdef extern from "Python.h":
    ctypedef struct PyMethodDef:
        const char *ml_name
        void *ml_meth
        int ml_flags
        const char *ml_doc
    object PyDescr_NewMethod(PyTypeObject *type, PyMethodDef *meth)
    enum: METH_FASTCALL, METH_NOARGS


cdef object _run(Replay self, PyObject **arrays, Py_ssize_t n):
    """A step's forward (_step_methods), as METH_FASTCALL calls it."""
    if n == 0:
        self._forward(NULL)
        return None
    if self.pack is None:
        raise TypeError("Replay.run: arrays given, but the Replay has no pack")
    self._load(self.pack(*[<object>arrays[k] for k in range(n)]))
    return None


cdef object _step_backward(Replay self, PyObject *unused):
    """Replay.backward, as METH_NOARGS calls it."""
    self._backward()
    return None


cdef PyMethodDef _RUN = PyMethodDef(
    b"forward", <void *>_run, METH_FASTCALL,
    b"forward(*arrays): Replay.forward(pack(*arrays)), or forward(None) with no arrays.")
cdef PyMethodDef _BACKWARD = PyMethodDef(b"backward", <void *>_step_backward, METH_NOARGS,
                                         b"backward(): Replay.backward().")


cdef class Replay:
    """The graph below `outputs` recorded once (csrc/replay.h): forward(values)
    writes the input leaves' data (a float64 vector, or None) and recomputes every
    node; backward() sweeps from each output in turn. Holds every node it names.
    A CompiledStep's forward(*arrays) and backward() are _step_methods'."""

    cdef fg_program p
    cdef bint held
    cdef bint failed  # the last forward raised: the graph holds no step's values
    cdef object pack  # run's arrays -> forward's vector (CompiledStep's checks)
    cdef bint running  # a forward or backward runs without the GIL

    def __init__(self, outputs: list, inputs: list, pack: object = None) -> None:
        cdef Py_ssize_t nr = len(outputs), ni = len(inputs), k
        cdef fg_id *ids = <fg_id *>malloc((nr + ni + 1) * sizeof(fg_id))
        cdef fg_id refused = FG_NONE
        cdef int err
        if ids == NULL:
            raise MemoryError(checks.NO_ROOM)
        try:
            for k in range(nr):
                if not isinstance(outputs[k], Value):
                    raise checks.not_a_value(outputs[k])
                ids[k] = _node_of(<Value>outputs[k])
            for k in range(ni):
                if not isinstance(inputs[k], Value):
                    raise checks.not_a_value(inputs[k])
                ids[nr + k] = _node_of(<Value>inputs[k])
                if G.op[ids[nr + k]] != FG_LEAF:
                    raise checks.input_not_a_leaf(k)
            if self.held:
                raise checks.made_once("Replay")
            err = fg_program_record(&G, &self.p, ids, <int32_t>nr, ids + nr, <int32_t>ni,
                                    &refused)
            if err:
                _raise(err)
            if refused != FG_NONE:
                node = _facade(refused)
                raise checks.not_replayable(node._op, node.label)
            self.held = True
            self.pack = pack
        finally:
            free(ids)

    def __dealloc__(self):
        if self.held:
            fg_program_free(&G, &self.p)

    cdef int _unlock(self) except -1:
        """Before a replay run without the GIL: the store pinned for it."""
        if self.running:
            raise RuntimeError("step: a forward() or backward() of this step is running in "
                               "another thread")
        if fg_pin(&G) == 1 and not PyThread_acquire_lock(_unlocked, NOWAIT_LOCK):
            with nogil:  # a waiter of the last one holds it for an instant
                PyThread_acquire_lock(_unlocked, WAIT_LOCK)
        self.running = True
        return 0

    cdef void _relock(self) noexcept:
        """After it, with the GIL again."""
        self.running = False
        if fg_unpin(&G) == 0:
            PyThread_release_lock(_unlocked)

    cdef int _forward(self, const double *values) except -1:
        cdef int err
        if self.p.nnodes < _UNLOCKED_NODES:
            err = fg_program_forward(&G, &self.p, values)
        else:
            self._unlock()
            with nogil:
                err = fg_program_forward(&G, &self.p, values)
            self._relock()
        self.failed = err != 0
        if err:
            _raise(err)
        return 0

    def forward(self, values=None) -> None:
        self._load(values)

    cdef int _load(self, object values) except -1:
        """forward's body (a step's forward is not this class's: _step_methods)."""
        cdef const double[::1] v
        if values is None:
            return self._forward(NULL)
        v = values
        if v.shape[0] != self.p.ninputs:
            raise ValueError(f"Replay.forward: expected {self.p.ninputs} values, "
                             f"got {v.shape[0]}")
        return self._forward(&v[0] if v.shape[0] else NULL)

    def backward(self) -> None:
        self._backward()

    cdef int _backward(self) except -1:
        if self.failed:
            raise checks.replay_failed()
        if self.p.nnodes < _UNLOCKED_NODES:
            fg_program_backward(&G, &self.p)
        else:
            self._unlock()
            with nogil:
                fg_program_backward(&G, &self.p)
            self._relock()
        return 0

    def _batches(self) -> int:
        """How many batches of network calls the recording runs as one kernel each
        (csrc/batch.h): forward's and the sweeps' together. For tests."""
        return self.p.batches.n

    def _plan(self) -> list:
        """Each batch as (swept, nodes, kernel): a sweep's or the forward's, the order's
        entries it stands for, and whether a backward batch runs as one kernel: a
        network's heads (fg_net_heads_backward), a dense layer's nodes
        (fg_dense_backward_batch). For tests."""
        cdef int32_t k
        cdef fg_batch *b
        plan = []
        for k in range(self.p.batches.n):
            b = &self.p.batches.batch[k]
            plan.append((bool(b.sweep), b.nodes, bool(b.mode == FG_DENSE_KERNEL
                                                      if b.kind == FG_BATCH_DENSE
                                                      else b.heads_kernel)))
        return plan


def _step_methods(cls: type) -> tuple:
    """A step type's forward and backward (fastgrad/compiled.py): Replay's run(*arrays)
    and backward() as method descriptors of cls (a subclass of Replay) itself, of
    METH_FASTCALL and METH_NOARGS. So step.forward() and step.backward() are the
    interpreter's cheapest calls: the method found on the type, called with no bound
    method made (3.11's specialised calls take only a descriptor whose type is self's
    exactly). A def method's *arrays would build a tuple each call and parse keywords
    (~40 ns, a fifth of a small graph's whole step)."""
    if not issubclass(cls, Replay):
        raise TypeError(f"_step_methods: {cls.__name__} is no Replay")
    return (PyDescr_NewMethod(<PyTypeObject *>cls, &_RUN),
            PyDescr_NewMethod(<PyTypeObject *>cls, &_BACKWARD))
