# Declarations of the C core (csrc/), one block per header, for the Cython facade.
from libc.stdint cimport int32_t, uint8_t, uint32_t


cdef extern from "fg.h" nogil:
    ctypedef int32_t fg_id
    enum: FG_NONE

    enum fg_err:
        FG_OK, FG_ENOMEM, FG_EZERODIV, FG_EPOWZERO, FG_EDOMAIN, FG_EOVERFLOW, FG_ERANGE,
        FG_EBADOP, FG_ECLOSURE


cdef extern from "store.h" nogil:
    enum: FG_FLAG_LABEL

    ctypedef struct fg_graph:
        double *data
        double *grad
        double *cst
        uint8_t *op
        fg_id live
        uint32_t pinned  # replays running without the GIL
        void (*drop_label)(fg_id id) noexcept
        int (*run_backward)(fg_graph *g, fg_id id) except -1
        void (*pin_owner)(void *owner) noexcept
        void (*unpin_owner)(void *owner) noexcept
        void (*wait_unpinned)(fg_graph *g) noexcept

    ctypedef void (*fg_release_fn)(fg_graph *g, fg_id id, fg_id *head)

    int fg_init(fg_graph *g, const fg_release_fn *release_rules)
    void fg_set_max_live(fg_graph *g, fg_id max_live)
    fg_id fg_node(fg_graph *g, int op, double data, fg_id a, fg_id b, double c, void *owner)
    fg_id fg_node_fast(fg_graph *g, int op, double data, fg_id a, fg_id b, double c, void *owner)
    fg_id fg_leaf(fg_graph *g, double data, void *owner)
    void fg_discard(fg_graph *g, fg_id id)
    void *fg_owner(const fg_graph *g, fg_id id)
    void fg_adopt(fg_graph *g, fg_id id, void *owner)
    void fg_disown(fg_graph *g, fg_id id)
    void fg_set_flag(fg_graph *g, fg_id id, uint8_t flag, int on)
    size_t fg_bytes_in_use(const fg_graph *g)
    size_t fg_bytes_reserved(const fg_graph *g)
    size_t fg_bytes_per_slot()


cdef extern from "blocks.h" nogil:
    ctypedef struct fg_block:
        int32_t n
        fg_id *ids
        double *cst

    fg_block *fg_block_new(fg_graph *g, int32_t n)
    void fg_block_fill(fg_block *b, int32_t i, fg_id id, double c)
    void fg_block_seal(fg_graph *g, fg_block *b)
    void fg_block_drop(fg_graph *g, fg_block *b)
    double fg_block_value(const fg_graph *g, const fg_block *b, int32_t i)


cdef extern from "nary.h" nogil:
    fg_id fg_sum_new(fg_graph *g, double data, fg_block *terms, void *owner)
    double fg_sum_value(const fg_graph *g, const fg_block *terms)
    fg_id fg_dot_new(fg_graph *g, double data, fg_block *w, fg_block *x, void *owner)
    double fg_dot_value(const fg_graph *g, const fg_block *w, const fg_block *x)


cdef extern from "custom.h" nogil:
    fg_id fg_custom_new(fg_graph *g, double data, fg_block *kids, void *owner)


cdef extern from "net.h" nogil:
    ctypedef struct fg_net_layer:
        int32_t nin, nout, act, first

    ctypedef struct fg_net:
        int32_t nlayers
        int32_t units
        fg_net_layer *layer

    ctypedef struct fg_layer_spec:
        int32_t nin, nout, act
        fg_block *const *rows

    fg_net *fg_net_new(fg_graph *g, int32_t nlayers, const fg_layer_spec *layers)
    void fg_net_drop(fg_graph *g, fg_net *net)
    fg_id fg_net_apply(fg_graph *g, fg_net *net, fg_block *x, fg_id *heads)
    void fg_net_eval(const fg_graph *g, const fg_net *net, const fg_block *x, double *inp,
                     double *h)
    int fg_head_act(const fg_graph *g, fg_id id)
    const fg_block *fg_call_neuron(const fg_graph *g, fg_id id, int32_t u, double rec[4])
    const fg_net *fg_call_net(const fg_graph *g, fg_id id)
    const fg_block *fg_call_inputs(const fg_graph *g, fg_id id)


cdef extern from "ops.h" nogil:
    const char *const fg_op_name[]
    const char *const fg_op_code[]
    const int fg_op_arity[]
    const fg_release_fn fg_release_rules[]
    int fg_forward(int op, double x, double y, double *res)
    double fg_activate(int act, double x)
    int fg_forward_node(fg_graph *g, fg_id id)
    int fg_local_backward(fg_graph *g, fg_id id)
    int fg_slot(const fg_graph *g, fg_id id, int32_t k, fg_id *node, double *c)


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


cdef extern from "floor.h" nogil:
    size_t fg_floor_scratch(int32_t nlayers, const int32_t *sizes, int32_t n)
    size_t fg_floor_step(int32_t nlayers, const int32_t *sizes, double *params, double *grad,
                         int32_t n, const double *X, const double *y, double alpha,
                         double lr, double *loss, double *scratch)


cdef extern from "batch.h" nogil:
    ctypedef struct fg_batch:
        int32_t kind, mode, nodes, nheads, heads_kernel
        uint8_t sweep

    enum:
        FG_BATCH_DENSE
        FG_DENSE_KERNEL

    ctypedef struct fg_batch_set:
        fg_batch *batch
        int32_t n


cdef extern from "replay.h" nogil:
    ctypedef struct fg_program:
        size_t nnodes
        int32_t nroots, ninputs
        fg_batch_set batches

    int fg_program_record(fg_graph *g, fg_program *p, const fg_id *roots, int32_t nroots,
                          const fg_id *inputs, int32_t ninputs, fg_id *refused)
    void fg_program_free(fg_graph *g, fg_program *p)
    int fg_program_forward(fg_graph *g, const fg_program *p, const double *values)
    void fg_program_backward(fg_graph *g, const fg_program *p)
    uint32_t fg_pin(fg_graph *g)
    uint32_t fg_unpin(fg_graph *g)
