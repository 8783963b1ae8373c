# Bulk kernels: a whole parameter list or data set per call (included by _core.pyx;
# the counterpart of fastgrad/pure's kernels).

cdef class _Ids:
    """The node ids of a list of Values, holding the Values alive while in use. The
    ids are read by resolve(), once every other argument is converted: a conversion
    may run Python that re-initialises a Value or drops one the list held."""
    cdef list values
    cdef fg_id[::1] ids
    cdef Py_ssize_t n

    def __cinit__(self, params):
        self.values = list(params)
        self.n = len(self.values)
        for p in self.values:
            if not isinstance(p, Value):
                raise checks.not_a_value(p)
        self.ids = np.empty(self.n, dtype=np.int32)

    cdef fg_id *resolve(self) except? NULL:
        """The ids as the Values hold them now (NULL for none); run no Python after."""
        cdef Py_ssize_t i
        for i in range(self.n):
            self.ids[i] = _node_of(<Value>self.values[i])
        return &self.ids[0] if self.n else NULL


cdef double[::1] _vector(object values, Py_ssize_t n, str what):
    """values as n float64s: a scalar broadcasts, anything else must have shape (n,)."""
    return np.ascontiguousarray(checks.vector(values, n, what))


def get_data(params) -> np.ndarray:
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t i, n = p.n
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    cdef fg_id *ids = p.resolve()
    for i in range(n):
        o[i] = G.data[ids[i]]
    return out


def set_data(params, values) -> None:
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t i, n = p.n
    cdef double[::1] x = _vector(values, n, "set_data")
    cdef fg_id *ids = p.resolve()
    for i in range(n):
        G.data[ids[i]] = x[i]


def get_grad(params) -> np.ndarray:
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t i, n = p.n
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    cdef fg_id *ids = p.resolve()
    for i in range(n):
        o[i] = G.grad[ids[i]]
    return out


def set_grad(params, values) -> None:
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t i, n = p.n
    cdef double c
    cdef double[::1] x
    cdef fg_id *ids
    if type(values) is float:  # zero_grad's 0.0: no vector of n copies of it
        c = values
        ids = p.resolve()
        for i in range(n):
            G.grad[ids[i]] = c
        return
    x = _vector(values, n, "set_grad")
    ids = p.resolve()
    for i in range(n):
        G.grad[ids[i]] = x[i]


def sgd_step(params, double lr, double momentum, double weight_decay, buf,
             bint first) -> None:
    """torch.optim.SGD's update (no dampening, no nesterov); buf holds the momentum."""
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t n = p.n
    cdef double[::1] b = checks.state_buffer(buf, n, "sgd_step")
    cdef fg_id *ids = p.resolve()
    if n:
        fg_sgd_step(&G, n, ids, lr, momentum, weight_decay, &b[0], first)


def adam_step(params, double lr, double beta1, double beta2, double eps,
              double weight_decay, step, m, v) -> None:
    """torch.optim.Adam's update for step `step` (1-based); m, v are its moments."""
    cdef _Ids p = _Ids(params)
    cdef Py_ssize_t n = p.n
    checks.adam_step_number(step)
    cdef double t = float(step)
    cdef double[::1] mm = checks.state_buffer(m, n, "adam_step"), \
        vv = checks.state_buffer(v, n, "adam_step")
    cdef fg_id *ids = p.resolve()
    if n:
        fg_adam_step(&G, n, ids, lr, beta1, beta2, eps, weight_decay, t, &mm[0], &vv[0])


cdef double *_first(a) except NULL:
    """The address of a non-empty C-contiguous float64 array's first element."""
    cdef double[::1] flat = a.reshape(-1)
    return &flat[0]


def mlp_predict(layers, X) -> np.ndarray:
    """Outputs of dense layers on every row of X, as calling them computes them, with
    no graph and no Value: the weights are read once, then every row runs in C."""
    X = np.ascontiguousarray(checks.samples(X, "mlp_predict"))
    cdef list ds = checks.denses(layers, Dense, "mlp_predict"), arrays = []
    cdef Py_ssize_t i, j, l, nl = len(ds), width = X.shape[1]
    cdef Dense d
    cdef double[:, ::1] w
    cdef double[::1] bias
    cdef size_t *sizes = <size_t *>calloc(nl + 1, sizeof(size_t))
    cdef const double **wp = <const double **>calloc(nl, sizeof(double *))
    cdef const double **bp = <const double **>calloc(nl, sizeof(double *))
    cdef int *acts = <int *>calloc(nl, sizeof(int))
    try:
        if not (sizes and wp and bp and acts):
            raise MemoryError("fastgrad: cannot allocate mlp_predict's plan")
        sizes[0] = width
        for l in range(nl):
            d = ds[l]
            if d.nin >= 0 and d.nin != width:
                raise checks.wrong_inputs("Dense:", d.nin, width)
            # at least one element each, so the pointers are never NULL
            W = np.empty((max(width, 1), max(d.nout, 1)))  # transposed: see fg_mlp_forward
            B = np.empty(d.nout or 1)
            w, bias = W, B
            for j in range(d.nout):
                for i in range(width):
                    w[i, j] = fg_block_value(&G, d.rows[j], <int32_t>i)
                bias[j] = fg_block_value(&G, d.rows[j], <int32_t>width)
            arrays.append((W, B))
            wp[l], bp[l], acts[l] = &w[0, 0], &bias[0], d.code
            width = d.nout
            sizes[l + 1] = width
        out = np.empty((X.shape[0], width), dtype=np.float64)
        scratch = np.empty(fg_mlp_scratch(nl, sizes) or 1)
        x = X if X.size else np.empty((1, 1))
        y = out if out.size else np.empty((1, 1))
        fg_mlp_forward(nl, sizes, wp, bp, acts, X.shape[0], _first(x), _first(y),
                       _first(scratch))
        return out
    finally:
        free(sizes)
        free(wp)
        free(bp)
        free(acts)
