/* Calls the compiled @small_int8 from plain C through the generated header:
 * the descriptors of contiguous row-major arrays, the call, reading the
 * returned memref through its strides, and freeing it. */

#include "model.h"

#include <stdlib.h>

int small_int8_from_c(float *x, uint8_t *w, float *s, float *y) {
  sherry_memref_f32_2d xd = {x, x, 0, {3, 96}, {96, 1}};
  sherry_memref_i8_2d wd = {(int8_t *)w, (int8_t *)w, 0, {7, 15}, {15, 1}};
  sherry_memref_f32_1d sd = {s, s, 0, {7}, {1}};
  sherry_memref_f32_2d yd;
  _mlir_ciface_small_int8(&yd, &xd, &wd, &sd);
  int ok = yd.sizes[0] == 3 && yd.sizes[1] == 7;
  for (int64_t i = 0; ok && i < 3; ++i)
    for (int64_t j = 0; j < 7; ++j)
      y[i * 7 + j] =
          yd.aligned[yd.offset + i * yd.strides[0] + j * yd.strides[1]];
  /* The function allocated the result with malloc: the caller frees it. */
  free(yd.allocated);
  return ok ? 0 : 1;
}
