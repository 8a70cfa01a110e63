//===- memref.h - MLIR memref descriptors for the benchmark harness -------===//
//
// The C layout of a ranked memref as `_mlir_ciface_` functions take it
// (allocated pointer, aligned pointer, offset, sizes, strides), and the rows
// of the kernel tables that bench/gen_kernels.py writes.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_BENCH_MEMREF_H
#define SHERRY_BENCH_MEMREF_H

#include <cstdint>

template <typename T, int Rank> struct MemRef {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];
};

/// A row-major, contiguous view of `data` with the given sizes.
template <typename T, int Rank>
MemRef<T, Rank> viewOf(T *data, const int64_t (&sizes)[Rank]) {
  MemRef<T, Rank> m;
  m.allocated = data;
  m.aligned = data;
  m.offset = 0;
  int64_t stride = 1;
  for (int i = Rank - 1; i >= 0; --i) {
    m.sizes[i] = sizes[i];
    m.strides[i] = stride;
    stride *= sizes[i];
  }
  return m;
}

/// sherry.matmul in int8 mode, <sherry, row>: out += x * W'^T.
using SherryFn = void (*)(MemRef<float, 2> *x, MemRef<int8_t, 2> *packed,
                          MemRef<float, 1> *scales, MemRef<float, 2> *out);
/// The same on weights in the tables layout (1-D bytes).
using SherryTablesFn = void (*)(MemRef<float, 2> *x, MemRef<int8_t, 1> *packed,
                                MemRef<float, 1> *scales, MemRef<float, 2> *out);
/// Dense f32: out += x * W^T.
using F32Fn = void (*)(MemRef<float, 2> *x, MemRef<float, 2> *w,
                       MemRef<float, 2> *out);

struct SherryKernel {
  const char *name;
  const char *variant; ///< a key of gen_kernels.py's VARIANTS
  int threads;
  int64_t m, k, n;
  SherryFn fn;             ///< weights <sherry, row>, or null
  SherryTablesFn tablesFn; ///< weights in the variant's tables layout, or null
};

/// One layer of the whole-model decode step with its 7 weight matrices (q,
/// k, v, o, gate, up, down) compiled in: the activations of q/k/v, of o, of
/// gate/up and of down, then the 7 matrices' scales and outputs. The
/// pipeline lowers q, k and v, and gate and up, together (fuse-siblings:
/// the table kernel's sibling loop, or sherry-fuse-sibling-matmuls).
using LayerFn = void (*)(MemRef<float, 2> *xqkv, MemRef<float, 2> *xo,
                         MemRef<float, 2> *xgu, MemRef<float, 2> *xd,
                         MemRef<float, 1> *, MemRef<float, 1> *,
                         MemRef<float, 1> *, MemRef<float, 1> *,
                         MemRef<float, 1> *, MemRef<float, 1> *,
                         MemRef<float, 1> *, MemRef<float, 2> *,
                         MemRef<float, 2> *, MemRef<float, 2> *,
                         MemRef<float, 2> *, MemRef<float, 2> *,
                         MemRef<float, 2> *, MemRef<float, 2> *);

struct LayerKernel {
  const char *name;
  const char *variant;
  int layer;
  LayerFn fn;
};

/// One layer of the decode step on weights passed in the tables layout: the
/// activations as LayerFn, then the 7 matrices' packed bytes, scales and
/// outputs. One function serves every layer.
using TablesLayerFn = void (*)(
    MemRef<float, 2> *xqkv, MemRef<float, 2> *xo, MemRef<float, 2> *xgu,
    MemRef<float, 2> *xd, MemRef<int8_t, 1> *, MemRef<int8_t, 1> *,
    MemRef<int8_t, 1> *, MemRef<int8_t, 1> *, MemRef<int8_t, 1> *,
    MemRef<int8_t, 1> *, MemRef<int8_t, 1> *, MemRef<float, 1> *,
    MemRef<float, 1> *, MemRef<float, 1> *, MemRef<float, 1> *,
    MemRef<float, 1> *, MemRef<float, 1> *, MemRef<float, 1> *,
    MemRef<float, 2> *, MemRef<float, 2> *, MemRef<float, 2> *,
    MemRef<float, 2> *, MemRef<float, 2> *, MemRef<float, 2> *,
    MemRef<float, 2> *);

struct TablesLayerKernel {
  const char *name;
  const char *variant;
  TablesLayerFn fn;
};

/// A variant whose weights are passed in the tables layout.
struct TablesVariant {
  const char *variant;
  const char *order; ///< format::tableOrderName
  int tileBlock;
};

struct F32Kernel {
  const char *name;
  int threads;
  int64_t m, k, n;
  F32Fn fn;
};

#endif // SHERRY_BENCH_MEMREF_H
