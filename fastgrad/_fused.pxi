# sum, dot, Dense and Network: n-ary nodes over shared operand blocks (included by
# _core.pyx; the counterpart of fastgrad/pure's fused layers).

cdef int _numbers(fg_block *b, tuple t) except -1:
    """t's numbers into b's slots, as constants."""
    cdef Py_ssize_t i
    for i in range(len(t)):
        if not isinstance(t[i], Value):
            fg_block_fill(b, <int32_t>i, FG_NONE, _to_double(t[i]))
    return 0


cdef int _ids(fg_block *b, tuple t) except -1:
    """t's Values' nodes into b's slots (no Python runs: only an error's)."""
    cdef Py_ssize_t i
    for i in range(len(t)):
        if isinstance(t[i], Value):
            fg_block_fill(b, <int32_t>i, _node_of(<Value>t[i]), 0.0)
    return 0


cdef int _blocks_of(list lists, fg_block **out) except -1:
    """out[k]: a sealed block of lists[k]'s slots (a Value's node, or a number as a
    constant), holding one reference (the caller's); all made or none. A number's
    __float__ may run any Python (mutate a list being read, re-init or drop a Value,
    call the engine), so every number of the call is converted, over tuples the call
    owns, before any node id is read; then the ids are read and sealed (the seal
    references them) with no Python in between."""
    cdef tuple ts = tuple([tuple(l) for l in lists])
    cdef Py_ssize_t k, n = len(ts)
    for k in range(n):
        out[k] = NULL
    try:
        for k in range(n):
            out[k] = fg_block_new(&G, <int32_t>len(<tuple>ts[k]))
            if out[k] == NULL:
                raise MemoryError("fastgrad: cannot allocate an operand block")
            _numbers(out[k], <tuple>ts[k])
        for k in range(n):
            _ids(out[k], <tuple>ts[k])
    except BaseException:
        for k in range(n):
            if out[k] != NULL:
                fg_block_drop(&G, out[k])  # not sealed yet: nothing to give back
        raise
    for k in range(n):
        fg_block_seal(&G, out[k])
    return 0


cdef fg_block *_block_of(list items) except NULL:
    """A sealed block of items' slots (see _blocks_of)."""
    cdef fg_block *b
    _blocks_of([items], &b)
    return b


def sum(values) -> Value:
    """One node for `builtins.sum(values)`: 0.0 + v0 + v1 + ..., left to right."""
    cdef Value v = _blank()
    cdef fg_block *t = _block_of(list(values))
    cdef double data = fg_sum_value(&G, t)
    try:
        if _grad_off():
            return _own(v, fg_leaf(&G, data, <void *>v))
        return _own(v, fg_sum_new(&G, data, t, <void *>v))
    finally:
        fg_block_drop(&G, t)


def dot(ws, xs, bias=0.0) -> Value:
    """One node for micrograd's neuron sum: bias + w0*x0 + w1*x1 + ..., left to right."""
    cdef list wl, xl
    wl, xl = checks.dot_operands(ws, xs)
    cdef Value v = _blank()
    wl.append(bias)
    cdef fg_block *wx[2]
    _blocks_of([wl, xl], wx)
    cdef fg_block *w = wx[0]
    cdef fg_block *x = wx[1]
    try:
        data = fg_dot_value(&G, w, x)
        if _grad_off():
            return _own(v, fg_leaf(&G, data, <void *>v))
        return _own(v, fg_dot_new(&G, data, w, x, <void *>v))
    finally:
        fg_block_drop(&G, w)
        fg_block_drop(&G, x)


# the op of each activation checks.ACTIVATIONS names ("linear": none)
cdef dict _ACTIVATION_OPS = {"relu": FG_RELU, "tanh": FG_TANH, "sigmoid": FG_SIGMOID,
                             "linear": FG_LEAF}
assert sorted(_ACTIVATION_OPS) == sorted(checks.ACTIVATIONS)
cdef dict _ACTIVATION_NAMES = {op: name for name, op in _ACTIVATION_OPS.items()}


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
                v = _blank()
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

    def __init__(self, weights, biases, act="relu"):
        # all or nothing: the rows are built aside and kept only once all are made
        cdef Py_ssize_t j, nout
        cdef fg_block **rows
        if self.rows != NULL:
            raise checks.made_once("Dense")
        a = checks.activation(act)
        wl, bl, nin = checks.dense_rows(weights, biases)
        nout = len(wl)
        rows = <fg_block **>calloc(nout or 1, sizeof(fg_block *))
        if rows == NULL:
            raise MemoryError("fastgrad: cannot allocate a dense layer")
        try:
            _blocks_of([w + [b] for w, b in zip(wl, bl)], rows)
        except BaseException:
            free(rows)
            raise
        self.act, self.code, self.nin = a, _ACTIVATION_OPS[a], nin
        self.weights, self.biases, self.nout, self.rows = wl, bl, nout, rows

    def __dealloc__(self):
        self._drop_rows()

    cdef void _drop_rows(self):
        """Let go of the rows (if made)."""
        cdef Py_ssize_t j
        if self.rows != NULL:
            for j in range(self.nout):
                if self.rows[j] != NULL:
                    fg_block_drop(&G, self.rows[j])
            free(self.rows)
            self.rows = NULL

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
        if self.rows == NULL:
            raise checks.uninitialised(self)
        if self.nin >= 0 and xs.n != self.nin:
            raise checks.wrong_inputs("Dense:", self.nin, xs.n)
        ys = fg_block_new(&G, <int32_t>self.nout)
        if ys == NULL:
            raise MemoryError("fastgrad: cannot allocate an operand block")
        for j in range(self.nout):
            data = fg_dot_value(&G, self.rows[j], xs)
            out = fg_activate(self.code, data)
            if _grad_off():
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


def layer(weights, biases, x, act="relu") -> list:
    """A dense layer's outputs, act(dot(w_j, x, b_j)) for every neuron j, in one call."""
    return Dense(weights, biases, act)(x)


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
    cdef Py_ssize_t nin  # the first layer's; -1 if it has no neurons: any input fits
    cdef fg_net *net  # NULL: calls go layer by layer (one layer, or sizes that do not chain)

    def __cinit__(self):
        self.net = NULL

    def __init__(self, layers):
        cdef Py_ssize_t l, nl
        cdef Dense d
        cdef fg_layer_spec *specs
        if self.layers is not None:
            raise checks.made_once("Network")
        ls = checks.denses(layers, Dense, "Network")
        for d in ls:
            if d.rows == NULL:
                raise checks.uninitialised(d)
        self.layers = ls
        self.nin = (<Dense>self.layers[0]).nin
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
        return f"Network({self.layers!r})"

    def __reduce__(self):
        return Network, (self.layers,)

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x) -> list:
        """The call, as a method: cheaper to call than the object (no argument tuple)."""
        cdef list xl = x if type(x) is list else list(x)  # (only read)
        cdef list outs
        if self.layers is None:
            raise checks.uninitialised(self)
        if self.nin >= 0 and len(xl) != self.nin:
            raise checks.wrong_inputs("Network", self.nin, len(xl))
        cdef fg_block *xs = _block_of(xl)
        cdef fg_block *ys
        try:
            if self.net != NULL and not _grad_off():
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
        return outs

    cdef list _fused(self, fg_block *xs):
        """Facades on the heads of one fused call (see csrc/net.h)."""
        cdef Py_ssize_t j, nout = self.net.layer[self.net.nlayers - 1].nout
        cdef fg_id one
        cdef fg_id *heads = &one if nout == 1 else <fg_id *>malloc(nout * sizeof(fg_id))
        cdef list outs
        cdef object v
        cdef Py_ssize_t done = 0
        if heads == NULL:
            raise MemoryError("fastgrad: cannot allocate a network's outputs")
        try:
            outs = PyList_New(nout)  # sized at once: a call's outputs are its whole cost
            if fg_net_apply(&G, self.net, xs, heads) == FG_NONE:
                _raise(FG_ENOMEM)
            try:
                for done in range(nout):
                    v = _facade(heads[done])
                    Py_INCREF(v)
                    PyList_SET_ITEM(outs, done, v)
            except BaseException:  # the heads no facade took yet die now
                for j in range(done, nout):
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


cdef tuple _slots(const fg_block *b, int32_t lo, int32_t hi):
    """b's slots lo .. hi - 1: each a Value, or its constant."""
    return tuple([_facade(b.ids[i]) if b.ids[i] != FG_NONE else b.cst[i]
                  for i in range(lo, hi)])


def mlp_record(call) -> MlpRecord:
    """What a fused MLP call node (`_op == "mlp"`) keeps of its hidden layers: each
    hidden neuron's weights and bias, its dot's data and grad, and its activation's, as
    the nodes of micrograd's unfused graph would hold them (grads 0 before a backward;
    a dot's data summed again from the inputs the forward took, the weights as they
    are now: the forward's while they keep the data they had then). Read only."""
    if not isinstance(call, Value) or G.op[_node_of(<Value>call)] != FG_NET:
        raise checks.not_an_mlp_call(call, call._op if isinstance(call, Value) else None)
    cdef fg_id id = _node_of(<Value>call)
    cdef const fg_net *net = fg_call_net(&G, id)
    cdef const fg_block *row
    cdef double rec[4]
    cdef int32_t l, u
    cdef list layers = []
    for l in range(net.nlayers - 1):
        neurons = []
        for u in range(net.layer[l].first, net.layer[l].first + net.layer[l].nout):
            row = fg_call_neuron(&G, id, u, rec)
            neurons.append(HiddenNeuron(_slots(row, 0, row.n - 1),
                                        _slots(row, row.n - 1, row.n)[0],
                                        rec[0], rec[1], rec[2], rec[3]))
        layers.append(HiddenLayer(_ACTIVATION_NAMES[net.layer[l].act], tuple(neurons)))
    row = fg_call_inputs(&G, id)
    return MlpRecord(_slots(row, 0, row.n), tuple(layers))


def mlp(layers, x) -> list:
    """The last layer's outputs of dense layers applied in turn: `Network(layers)(x)`."""
    return Network(layers)(x)
