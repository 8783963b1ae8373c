# Declarations of the C core (csrc/) for the Cython facade.
from libc.stdint cimport int32_t, uint8_t, uint32_t


cdef extern from "fg.h" nogil:
    ctypedef int32_t fg_id
    enum: FG_NONE

    enum fg_err:
        FG_OK, FG_ENOMEM, FG_EZERODIV, FG_EPOWZERO, FG_EDOMAIN, FG_EOVERFLOW, FG_ERANGE,
        FG_EBADOP


cdef extern from "graph.h" nogil:
    enum: FG_FLAG_NOTE

    ctypedef struct fg_block:
        int32_t refs
        int32_t n
        fg_id *ids
        double *cst

    ctypedef struct fg_graph:
        double *data
        double *grad
        double *cst
        uint8_t *op
        uint8_t *flags
        uint32_t *refs
        void **owner
        fg_id live
        void (*drop_note)(fg_id id) noexcept

    ctypedef void (*fg_release_fn)(fg_graph *g, fg_id id, fg_id *head)

    int fg_init(fg_graph *g, const fg_release_fn *release_rules)
    void fg_set_max_live(fg_graph *g, fg_id max_live)
    fg_id fg_node(fg_graph *g, int op, double data, fg_id a, fg_id b, double c, void *owner)
    fg_block *fg_block_new(fg_graph *g, int32_t n)
    void fg_block_seal(fg_graph *g, fg_block *b)
    void fg_block_drop(fg_graph *g, fg_block *b)
    void fg_decref(fg_graph *g, fg_id id)
    void fg_discard(fg_graph *g, fg_id id)
    size_t fg_bytes_in_use(const fg_graph *g)
    size_t fg_bytes_reserved(const fg_graph *g)
    size_t fg_bytes_per_slot()


cdef extern from "nary.h" nogil:
    double fg_slot(const fg_graph *g, const fg_block *b, int32_t i)
    fg_id fg_sum(fg_graph *g, double data, fg_block *terms, void *owner)
    fg_id fg_dot(fg_graph *g, double data, fg_block *w, fg_block *x, void *owner)
    double fg_forward_sum(const fg_graph *g, const fg_block *terms)
    double fg_forward_dot(const fg_graph *g, const fg_block *w, const fg_block *x)


cdef extern from "ops.h" nogil:
    const char *const fg_op_name[]
    const fg_release_fn fg_release_rules[]
    int fg_forward(int op, double x, double y, double *res)
    double fg_activate(int act, double x)
    int fg_forward_node(fg_graph *g, fg_id id)
    fg_id fg_operand(const fg_graph *g, fg_id id, int32_t *k)


cdef extern from "net.h" nogil:
    ctypedef struct fg_stack_layer:
        int32_t nin, nout, act, first

    ctypedef struct fg_stack:
        int32_t refs
        int32_t nlayers
        int32_t units
        fg_stack_layer *layer
        fg_block **rows

    fg_stack *fg_stack_new(fg_graph *g, int32_t nlayers, int32_t units)
    void fg_stack_drop(fg_graph *g, fg_stack *s)
    void fg_stack_finish(fg_stack *s)
    fg_id fg_net(fg_graph *g, fg_stack *s, fg_block *x, fg_id *heads)
    void fg_net_forward(const fg_graph *g, const fg_stack *s, const fg_block *x, double *inp,
                        double *h)
    int fg_head_act(const fg_graph *g, fg_id id)


cdef extern from "sweep.h" nogil:
    int fg_backward(fg_graph *g, fg_id root)


cdef extern from "kernels.h" nogil:
    void fg_sgd_step(fg_graph *g, size_t n, const fg_id *ids, double lr, double momentum,
                     double weight_decay, double *buf, int first)
    void fg_adam_step(fg_graph *g, size_t n, const fg_id *ids, double lr, double beta1,
                      double beta2, double eps, double weight_decay, double step,
                      double *m, double *v)
    size_t fg_mlp_scratch(size_t nlayers, const size_t *sizes)
    void fg_mlp_forward(size_t nlayers, const size_t *sizes, const double *const *w,
                        const double *const *b, const int *act, size_t nrows,
                        const double *X, double *Y, double *scratch)
