// A sherry.matmul marked with sherry.kernel gets that kernel whatever the
// options choose for the others; unmarked ones follow the options.
// The kernel passes one by one (what --sherry-to-llvm runs on x86):
// RUN: sherry-opt %s --convert-sherry-to-x86="isa=avx2 strategy=tables" | FileCheck %s --check-prefix=TABLES
// RUN: sherry-opt %s --convert-sherry-to-x86="isa=avx2 strategy=tables only-marked=true" | FileCheck %s --check-prefix=TABLES-MARKED
// RUN: sherry-opt %s --convert-sherry-to-x86="isa=avx2 strategy=decode only-marked=true" | FileCheck %s --check-prefix=DECODE-MARKED
// RUN: sherry-opt %s --convert-sherry-to-vector="only-marked=true" | FileCheck %s --check-prefix=PORTABLE-MARKED
// Tiles keep the mark; siblings with different kernels are not fused.
// RUN: sherry-opt %s --sherry-tile="row-tile=32" | FileCheck %s --check-prefix=TILE
// RUN: sherry-opt %s --sherry-fuse-sibling-matmuls | FileCheck %s --check-prefix=FUSE
// The pipeline, whose options choose the decode kernel or the tables one
// for unmarked matmuls: the marked ones keep theirs.
// RUN: sherry-opt %s --sherry-to-llvm="target=avx2 strategy=decode" -o /dev/null
// RUN: sherry-opt %s --sherry-to-llvm="target=avx2 strategy=tables" -o /dev/null
// RUN: sherry-opt %s --sherry-to-llvm="target=portable kernel=linalg" -o /dev/null
// A target without those kernels runs the portable one and says so:
// RUN: sherry-opt %s --sherry-to-llvm="target=portable" -verify-diagnostics -o /dev/null

func.func @four(%x: tensor<1x256xf32>, %acc: tensor<1x64xf32>)
    -> (tensor<1x64xf32>, tensor<1x64xf32>, tensor<1x64xf32>,
        tensor<1x64xf32>, tensor<1x64xf32>) {
  %w = arith.constant dense<17> : tensor<64x40xi8>
  %s = arith.constant dense<0.5> : tensor<64xf32>
  // expected-warning @+1 {{sherry.kernel = tables: no tables kernel of the target took this matmul; it runs the portable kernel}}
  %t = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc : tensor<1x64xf32>)
         layout<sherry, row> mode<int8> {sherry.kernel = #sherry.kernel<tables>}
         -> tensor<1x64xf32>
  // expected-warning @+1 {{sherry.kernel = decode: no decode kernel of the target took this matmul; it runs the portable kernel}}
  %d = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc : tensor<1x64xf32>)
         layout<sherry, row> mode<int8> {sherry.kernel = #sherry.kernel<decode>}
         -> tensor<1x64xf32>
  %p = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc : tensor<1x64xf32>)
         layout<sherry, row> mode<int8> {sherry.kernel = #sherry.kernel<portable>}
         -> tensor<1x64xf32>
  %l = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc : tensor<1x64xf32>)
         layout<sherry, row> mode<int8> {sherry.kernel = #sherry.kernel<linalg>}
         -> tensor<1x64xf32>
  %u = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc : tensor<1x64xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x64xf32>
  return %t, %d, %p, %l, %u : tensor<1x64xf32>, tensor<1x64xf32>,
                              tensor<1x64xf32>, tensor<1x64xf32>,
                              tensor<1x64xf32>
}

// The table kernel takes the op marked tables and the unmarked one.
// TABLES-LABEL: func.func @four
// TABLES-NOT: sherry.kernel<tables>
// TABLES: sherry.matmul {{.*}}sherry.kernel = #sherry.kernel<decode>
// TABLES: sherry.matmul {{.*}}sherry.kernel = #sherry.kernel<portable>
// TABLES: sherry.matmul {{.*}}sherry.kernel = #sherry.kernel<linalg>
// TABLES-NOT: sherry.matmul
// TABLES: return

// Only the marked one: the unmarked matmul stays for the decode kernel.
// TABLES-MARKED-LABEL: func.func @four
// TABLES-MARKED-NOT: sherry.kernel<tables>
// TABLES-MARKED: sherry.matmul {{.*}}sherry.kernel = #sherry.kernel<decode>
// TABLES-MARKED: sherry.matmul {{.*}}sherry.kernel = #sherry.kernel<portable>
// TABLES-MARKED: sherry.matmul {{.*}}sherry.kernel = #sherry.kernel<linalg>
// TABLES-MARKED: sherry.matmul {{.*}}layout<sherry, row> mode<int8> -> tensor<1x64xf32>
// TABLES-MARKED: return

// DECODE-MARKED-LABEL: func.func @four
// DECODE-MARKED: sherry.matmul {{.*}}sherry.kernel = #sherry.kernel<tables>
// DECODE-MARKED: sherry_x86.
// DECODE-MARKED-NOT: sherry.kernel<decode>
// DECODE-MARKED: sherry.matmul {{.*}}sherry.kernel = #sherry.kernel<portable>
// DECODE-MARKED: sherry.matmul {{.*}}sherry.kernel = #sherry.kernel<linalg>
// DECODE-MARKED: sherry.matmul {{.*}}layout<sherry, row> mode<int8> -> tensor<1x64xf32>

// The portable kernel's only-marked instance (the pipeline's with
// kernel=linalg) takes the op marked portable, and with it those marked
// for target kernels that did not take them (here: all, it runs first).
// PORTABLE-MARKED-LABEL: func.func @four
// PORTABLE-MARKED-NOT: sherry.kernel<tables>
// PORTABLE-MARKED-NOT: sherry.kernel<decode>
// PORTABLE-MARKED-NOT: sherry.kernel<portable>
// PORTABLE-MARKED: sherry.matmul {{.*}}sherry.kernel = #sherry.kernel<linalg>
// PORTABLE-MARKED: sherry.matmul {{.*}}layout<sherry, row> mode<int8> -> tensor<1x64xf32>
// PORTABLE-MARKED: return

// TILE-LABEL: func.func @four
// TILE: scf.forall
// TILE: sherry.matmul {{.*}}sherry.kernel = #sherry.kernel<tables>
// TILE: scf.forall
// TILE: sherry.matmul {{.*}}sherry.kernel = #sherry.kernel<decode>

// FUSE-LABEL: func.func @four
// FUSE-COUNT-5: sherry.matmul {{.*}} -> tensor<1x64xf32>
// FUSE-NOT: sherry.matmul
