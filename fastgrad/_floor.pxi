# The arithmetic floor (csrc/floor.h): the moons demo's step as plain C loops, what the
# bench times fastgrad's compiled step against (included by _core.pyx).


def _floor_step(sizes, double[::1] params, double[:, ::1] X, double[::1] y, double alpha,
                double lr, double[::1] scratch) -> tuple:
    """One plain-C step of an MLP of `sizes` (inputs first) on X, y: updates params in
    place; (the loss, the multiply-adds it did). scratch: at least
    _floor_scratch(sizes, len(X)) doubles (it holds the grads too)."""
    cdef int32_t nl = len(sizes) - 1
    cdef int32_t[::1] s = np.asarray(sizes, dtype=np.int32)
    cdef double loss = 0.0
    cdef size_t need = _floor_scratch(sizes, X.shape[0])
    if X.shape[0] != y.shape[0] or X.shape[1] != s[0] or <size_t>scratch.shape[0] < need:
        raise ValueError("_floor_step: X, y, sizes or scratch do not fit")
    cdef size_t macs = fg_floor_step(nl, &s[0], &params[0], &scratch[0], <int32_t>X.shape[0],
                                     &X[0, 0], &y[0], alpha, lr, &loss,
                                     &scratch[params.shape[0]])
    return loss, macs


def _floor_scratch(sizes, Py_ssize_t n) -> int:
    """Doubles of scratch _floor_step needs for n samples (its grads included)."""
    cdef int32_t[::1] s = np.asarray(sizes, dtype=np.int32)
    cdef size_t params = 0
    cdef Py_ssize_t l
    for l in range(len(sizes) - 1):
        params += (s[l] + 1) * s[l + 1]
    return params + fg_floor_scratch(<int32_t>(len(sizes) - 1), &s[0], <int32_t>n)
