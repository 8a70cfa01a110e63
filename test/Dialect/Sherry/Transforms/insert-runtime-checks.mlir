// RUN: sherry-opt %s --sherry-insert-runtime-checks -split-input-file | FileCheck %s
// RUN: sherry-opt %s --sherry-insert-runtime-checks="handler=external" -split-input-file | FileCheck %s --check-prefix=EXTERNAL

// Rows of x and of the accumulator, both arguments: one check, and the
// matmul runs on the leading rows, none where the check fails.
// CHECK-DAG: llvm.mlir.global internal constant @[[MSG:__sherry_runtime_error_[0-9]+]]("@rows: sherry.matmul at {{.*}}insert-runtime-checks.mlir:{{[0-9]+}}:{{[0-9]+}}: x (argument 0) has %lld rows but the accumulator (argument 3) has %lld; the matmul computed nothing\00")
// CHECK-DAG: llvm.mlir.global internal constant @{{.*}}("sherry: run-time check failed: \00")
// CHECK-LABEL: func.func @rows(
// CHECK-SAME: %[[X:.*]]: tensor<?x256xf32>, %[[W:.*]]: tensor<64x40xi8>, %[[S:.*]]: tensor<64xf32>, %[[ACC:.*]]: tensor<?x64xf32>)
// CHECK-DAG: %[[NX:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x256xf32>
// CHECK-DAG: %[[NA:.*]] = tensor.dim %[[ACC]], %{{.*}} : tensor<?x64xf32>
// CHECK: %[[BAD:.*]] = arith.cmpi ne, %[[NX]], %[[NA]] : index
// CHECK: scf.if %[[BAD]] {
// CHECK:   %[[ADDR:.*]] = llvm.mlir.addressof @[[MSG]]
// CHECK:   %[[FMT:.*]] = llvm.getelementptr %[[ADDR]][0, 0]
// CHECK:   %[[A:.*]] = arith.index_cast %[[NX]] : index to i64
// CHECK:   %[[B:.*]] = arith.index_cast %[[NA]] : index to i64
// CHECK:   func.call @sherry_runtime_error(%[[FMT]], %[[A]], %[[B]]) : (!llvm.ptr, i64, i64) -> ()
// CHECK: }
// CHECK: %[[N:.*]] = arith.select %[[BAD]], %{{.*}}, %{{.*}} : index
// CHECK: %[[XS:.*]] = tensor.extract_slice %[[X]][0, 0] [%[[N]], 256] [1, 1]
// CHECK: %[[AS:.*]] = tensor.extract_slice %[[ACC]][0, 0] [%[[N]], 64] [1, 1]
// CHECK: %[[Y:.*]] = sherry.matmul ins(%[[XS]], %[[W]] : tensor<?x256xf32>, tensor<64x40xi8>) scales(%[[S]] : tensor<64xf32>) outs(%[[AS]] : tensor<?x64xf32>)
// CHECK: %[[R:.*]] = tensor.insert_slice %[[Y]] into %[[ACC]][0, 0] [%[[N]], 64] [1, 1]
// CHECK: return %[[R]]
// The weak default prints the message to stderr and returns.
// CHECK-LABEL: func.func @sherry_runtime_error(
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<weak>}
// CHECK: llvm.call @dprintf(
// CHECK: llvm.call @dprintf(%{{.*}}, %arg0, %arg1, %arg2)
// CHECK: llvm.call @dprintf(
// EXTERNAL-LABEL: func.func @rows(
// EXTERNAL: func.func private @sherry_runtime_error(!llvm.ptr, i64, i64)
// EXTERNAL-NOT: dprintf
func.func @rows(%x: tensor<?x256xf32>, %w: tensor<64x40xi8>, %s: tensor<64xf32>,
                %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<?x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc : tensor<?x64xf32>)
         layout<sherry, row> mode<int8> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// An accumulator made for x's rows, and static shapes: nothing to check,
// and nothing left behind.
// CHECK-LABEL: func.func @proved(
// CHECK-NOT: scf.if
// CHECK-NOT: sherry_runtime_error
// CHECK: tensor.empty
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: sherry.matmul ins(%arg0, %arg1
// CHECK-NEXT: sherry.matmul ins(%arg3, %arg1
// CHECK-NEXT: return
func.func @proved(%x: tensor<?x256xf32>, %w: tensor<64x40xi8>, %s: tensor<64xf32>,
                  %x2: tensor<4x256xf32>, %acc2: tensor<4x64xf32>)
    -> (tensor<?x64xf32>, tensor<4x64xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x256xf32>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
  %y = sherry.matmul ins(%x, %w : tensor<?x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc : tensor<?x64xf32>)
         layout<sherry, row> mode<int8> -> tensor<?x64xf32>
  %y2 = sherry.matmul ins(%x2, %w : tensor<4x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc2 : tensor<4x64xf32>)
         layout<sherry, row> mode<int8> -> tensor<4x64xf32>
  return %y, %y2 : tensor<?x64xf32>, tensor<4x64xf32>
}

// -----

// Dynamic M and K: the weights' rows against the accumulator's columns,
// the scales and the bias (an M mismatch empties the output columns); K
// against the layout's multiple, the weights' bytes per row and the
// group scales' columns (a K mismatch empties both).
// CHECK-LABEL: func.func @dynamic(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?xf32>, %[[W:[^:]*]]: tensor<?x?xi8>, %[[S:[^:]*]]: tensor<?x?xf32>, %[[B:[^:]*]]: tensor<?xf32>, %[[ACC:[^:]*]]: tensor<?x?xf32>)
// CHECK-COUNT-7: func.call @sherry_runtime_error
// CHECK: %[[N:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : index
// CHECK: %[[M:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : index
// CHECK: %[[XS:.*]] = tensor.extract_slice %[[X]][0, 0] [%[[N]], %{{.*}}] [1, 1]
// CHECK: %[[WS:.*]] = tensor.extract_slice %[[W]][0, 0] [%[[M]], %{{.*}}] [1, 1]
// CHECK: %[[SS:.*]] = tensor.extract_slice %[[S]][0, 0] [%[[M]], %{{.*}}] [1, 1]
// CHECK: %[[BS:.*]] = tensor.extract_slice %[[B]][0] [%[[M]]] [1]
// CHECK: %[[AS:.*]] = tensor.extract_slice %[[ACC]][0, 0] [%[[N]], %[[M]]] [1, 1]
// CHECK: sherry.matmul ins(%[[XS]], %[[WS]] : tensor<?x?xf32>, tensor<?x?xi8>) scales(%[[SS]] : tensor<?x?xf32>) bias(%[[BS]] : tensor<?xf32>) outs(%[[AS]] : tensor<?x?xf32>)
func.func @dynamic(%x: tensor<?x?xf32>, %w: tensor<?x?xi8>, %s: tensor<?x?xf32>,
                   %b: tensor<?xf32>, %acc: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<?x?xf32>, tensor<?x?xi8>)
         scales(%s : tensor<?x?xf32>) bias(%b : tensor<?xf32>)
         outs(%acc : tensor<?x?xf32>) layout<sherry, group = 64> mode<int8>
         -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

// On memrefs: subviews instead of slices; the messages name operands that
// are not arguments without a position.
// CHECK-DAG: ("@buffers: sherry.matmul at {{.*}}: x has %lld rows but the accumulator (argument 3) has %lld; the matmul computed nothing\00")
// CHECK-LABEL: func.func @buffers(
// CHECK: scf.if
// CHECK: %[[XS:.*]] = memref.subview %{{.*}}[0, 0] [%{{.*}}, 256] [1, 1]
// CHECK: %[[AS:.*]] = memref.subview %arg3[0, 0] [%{{.*}}, 64] [1, 1]
// CHECK: sherry.matmul ins(%[[XS]], %arg1 : memref<?x256xf32, strided<[256, 1]>>, memref<64x40xi8>) scales(%arg2 : memref<64xf32>) outs(%[[AS]] : memref<?x64xf32, strided<[64, 1]>>)
// CHECK-NOT: tensor.insert_slice
func.func @buffers(%x0: memref<?x256xf32>, %w: memref<64x40xi8>, %s: memref<64xf32>,
                   %acc: memref<?x64xf32>) {
  %x = memref.cast %x0 : memref<?x256xf32> to memref<?x256xf32>
  sherry.matmul ins(%x, %w : memref<?x256xf32>, memref<64x40xi8>)
    scales(%s : memref<64xf32>) outs(%acc : memref<?x64xf32>)
    layout<sherry, row> mode<int8>
  return
}

