# Replay: a recorded graph, recomputed and swept in C (included by _core.pyx; the
# counterpart of fastgrad/pure/replay.py). fastgrad.compile is its front.


cdef class Replay:
    """The graph below `outputs` recorded once (csrc/replay.h): forward(values)
    writes the input leaves' data (a float64 vector, or None) and recomputes every
    node; backward() sweeps from each output in turn. Holds every node it names."""

    cdef fg_program p
    cdef bint held
    cdef bint failed  # the last forward raised: the graph holds no step's values

    def __init__(self, outputs: list, inputs: list) -> None:
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
        finally:
            free(ids)

    def __dealloc__(self):
        if self.held:
            fg_program_free(&G, &self.p)

    def forward(self, values=None) -> None:
        cdef const double[::1] v
        cdef int err
        if values is None:
            err = fg_program_forward(&G, &self.p, NULL)
        else:
            v = values
            if v.shape[0] != self.p.ninputs:
                raise ValueError(f"Replay.forward: expected {self.p.ninputs} values, "
                                 f"got {v.shape[0]}")
            err = fg_program_forward(&G, &self.p, &v[0] if v.shape[0] else NULL)
        self.failed = err != 0
        if err:
            _raise(err)

    def backward(self) -> None:
        if self.failed:
            raise checks.replay_failed()
        fg_program_backward(&G, &self.p)

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
