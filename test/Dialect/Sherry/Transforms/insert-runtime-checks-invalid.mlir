// RUN: sherry-opt %s --sherry-insert-runtime-checks -verify-diagnostics -o /dev/null

// A function of that name that the checks cannot call.
// expected-error @+1 {{'sherry_runtime_error' is what compiled code calls when a run-time check fails; it must be a func.func of type '(!llvm.ptr, i64, i64) -> ()'}}
func.func private @sherry_runtime_error(i32)
func.func @clash(%x: tensor<?x256xf32>, %w: tensor<64x40xi8>, %s: tensor<64xf32>,
                 %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<?x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc : tensor<?x64xf32>)
         layout<sherry, row> mode<int8> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
