/* The base every file of the core includes: node ids, error codes, the op codes. */
#ifndef FASTGRAD_FG_H
#define FASTGRAD_FG_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef int32_t fg_id;

/* A branch the hot paths almost never take (a custom node's pin rules): laid out off
 * the straight line; and a slow path a hot loop calls, kept out of line so the loop
 * keeps its registers. */
#if defined(__GNUC__) || defined(__clang__)
#define FG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FG_NOINLINE __attribute__((noinline))
#else
#define FG_UNLIKELY(x) (x)
#define FG_NOINLINE
#endif

/* Id 0 is never a node: it marks "no operand" in a node and "no node" in a result. */
#define FG_NONE 0

/* Error codes of the operations; 0 is success. */
enum fg_err {
    FG_OK = 0,
    FG_ENOMEM,      /* the store cannot grow */
    FG_EZERODIV,    /* x / 0 */
    FG_EPOWZERO,    /* 0 ** negative */
    FG_EDOMAIN,     /* log(x <= 0), sqrt(x < 0), negative ** non-integer */
    FG_EOVERFLOW,   /* x ** y overflowed (Python: OverflowError(ERANGE)) */
    FG_ERANGE,      /* exp(x) overflowed (Python: "math range error") */
    FG_EBADOP,      /* an op code no rule knows: the store is corrupt */
    FG_ECLOSURE,    /* a custom node's backward (user code) failed: its error is the
                       caller's to report (custom.h) */
};

/* One code per entry of ops.def, in its order (FG_LEAF first), then FG_NOPS. */
enum fg_op {
#define FG_NULLARY(code, label) FG_##code,
#define FG_SCALAR(code, label, arity, forward, backward) FG_##code,
#define FG_NARY(code, label, name) FG_##code,
#include "ops.def"
    FG_NOPS,
    FG_FREE = 255   /* the op of a free slot */
};

/* Op codes are stored in a byte, FG_FREE apart from them (a negative size fails to compile). */
typedef char fg_ops_fit_in_a_byte[FG_NOPS < FG_FREE ? 1 : -1];

/* An op code no rule knows. assert() stops a debug build (the sanitizer build has
 * it on) at the culprit; a release build aborts where no error can be returned, and
 * FG_EBADOP_RETURN returns FG_EBADOP where one can. */
#define FG_BAD_OP() (assert(!"op code not in ops.def"), abort())
#define FG_EBADOP_RETURN() do { assert(!"op code not in ops.def"); return FG_EBADOP; } while (0)

#endif
