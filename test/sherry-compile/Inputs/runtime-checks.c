// Calls @mm of dynamic-rows.mlir with 3 rows of x and 2 of the
// accumulator: the run-time check reports it (through the object's weak
// sherry_runtime_error, or this program's own with -DOWN_HANDLER) and the
// matmul computes nothing, so the accumulator comes back unchanged.
#include "dynamic-rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef OWN_HANDLER
static int failures;
void sherry_runtime_error(const char *format, int64_t a, int64_t b) {
  ++failures;
  printf("handler: ");
  printf(format, (long long)a, (long long)b);
  printf("\n");
}
#endif

int main(void) {
  printf("cpu supported: %d\n", dynamic_rows_cpu_supported());
  static float x[3 * 256], acc[2 * 64], scales[64];
  static int8_t w[64 * 40];
  for (int i = 0; i < 3 * 256; ++i)
    x[i] = 1.0f;
  for (int i = 0; i < 2 * 64; ++i)
    acc[i] = 7.5f;
  for (int i = 0; i < 64; ++i)
    scales[i] = 1.0f;
  memset(w, 0x22, sizeof(w));
  sherry_memref_f32_2d xd = {x, x, 0, {3, 256}, {256, 1}};
  sherry_memref_i8_2d wd = {w, w, 0, {64, 40}, {40, 1}};
  sherry_memref_f32_1d sd = {scales, scales, 0, {64}, {1}};
  sherry_memref_f32_2d accd = {acc, acc, 0, {2, 64}, {64, 1}};
  sherry_memref_f32_2d result;
  _mlir_ciface_mm(&result, &xd, &wd, &sd, &accd);
  int unchanged = 1;
  for (int i = 0; i < 2 * 64; ++i)
    unchanged &= result.aligned[result.offset + i] == 7.5f;
  printf("result %lld x %lld, unchanged %d\n", (long long)result.sizes[0],
         (long long)result.sizes[1], unchanged);
#ifdef OWN_HANDLER
  printf("failures %d\n", failures);
#endif
  if (result.allocated != acc)
    free(result.allocated);
  return 0;
}
