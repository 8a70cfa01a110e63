// REQUIRES: mlir-opt-plugins
// Debian's own mlir-opt runs sherry-mlir from lib/SherryPlugin.so: the
// dialect plugin parses and prints sherry ops, the pass plugin runs the
// passes and the pipeline (named in --pass-pipeline: a stock tool builds
// its pass flags before any plugin loads), with the same result as
// sherry-opt.

// RUN: mlir-opt --load-dialect-plugin=%sherry_plugin %s | FileCheck %s --check-prefix=ROUNDTRIP
// RUN: mlir-opt --load-dialect-plugin=%sherry_plugin %s | mlir-opt --load-dialect-plugin=%sherry_plugin | FileCheck %s --check-prefix=ROUNDTRIP
// RUN: mlir-opt --load-dialect-plugin=%sherry_plugin --load-pass-plugin=%sherry_plugin %s --pass-pipeline="builtin.module(sherry-sparsify)" | FileCheck %s --check-prefix=SPARSIFY
// RUN: mlir-opt --load-dialect-plugin=%sherry_plugin --load-pass-plugin=%sherry_plugin %s --pass-pipeline="builtin.module(sherry-sparsify,sherry-to-llvm{target=avx2 threads=1})" -o %t.stock.mlir
// RUN: sherry-opt %s --pass-pipeline="builtin.module(sherry-sparsify,sherry-to-llvm{target=avx2 threads=1})" -o %t.ours.mlir
// RUN: diff %t.stock.mlir %t.ours.mlir
// RUN: FileCheck %s --check-prefix=LLVM < %t.stock.mlir
// RUN: not mlir-opt --load-dialect-plugin=%sherry_plugin --load-pass-plugin=%sherry_plugin %s --pass-pipeline="builtin.module(sherry-to-llvm{target=bogus})" 2>&1 | FileCheck %s --check-prefix=BAD

// ROUNDTRIP-LABEL: func.func @packed
// ROUNDTRIP: sherry.matmul ins(%{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<4x5xi8>) scales(%{{.*}} : tensor<4xf32>) outs(%{{.*}} : tensor<?x4xf32>) layout<sherry, row> -> tensor<?x4xf32>
func.func @packed(%x: tensor<?x32xf32>, %w: tensor<4x5xi8>, %s: tensor<4xf32>,
                  %acc: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<?x32xf32>, tensor<4x5xi8>)
         scales(%s : tensor<4xf32>) outs(%acc : tensor<?x4xf32>)
         layout<sherry, row> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// SPARSIFY-LABEL: func.func @dense
// SPARSIFY-NOT: linalg.matmul
// SPARSIFY: sherry.matmul ins(%{{.*}}, %{{.*}} : tensor<2x32xf32>, tensor<4x5xi8>)
func.func @dense(%x: tensor<2x32xf32>, %acc: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.0, 2.0], [1.0, 0.0, -2.0, 0.5],
                             [0.0, 1.5, 1.0, -1.0], [-0.5, 2.0, 1.0, 0.0],
                             [0.5, -1.0, 0.0, 2.0], [1.0, 0.0, -2.0, 0.5],
                             [0.0, 1.5, 1.0, -1.0], [-0.5, 2.0, 1.0, 0.0],
                             [0.5, -1.0, 0.0, 2.0], [1.0, 0.0, -2.0, 0.5],
                             [0.0, 1.5, 1.0, -1.0], [-0.5, 2.0, 1.0, 0.0],
                             [0.5, -1.0, 0.0, 2.0], [1.0, 0.0, -2.0, 0.5],
                             [0.0, 1.5, 1.0, -1.0], [-0.5, 2.0, 1.0, 0.0],
                             [0.5, -1.0, 0.0, 2.0], [1.0, 0.0, -2.0, 0.5],
                             [0.0, 1.5, 1.0, -1.0], [-0.5, 2.0, 1.0, 0.0],
                             [0.5, -1.0, 0.0, 2.0], [1.0, 0.0, -2.0, 0.5],
                             [0.0, 1.5, 1.0, -1.0], [-0.5, 2.0, 1.0, 0.0],
                             [0.5, -1.0, 0.0, 2.0], [1.0, 0.0, -2.0, 0.5],
                             [0.0, 1.5, 1.0, -1.0], [-0.5, 2.0, 1.0, 0.0],
                             [0.5, -1.0, 0.0, 2.0], [1.0, 0.0, -2.0, 0.5],
                             [0.0, 1.5, 1.0, -1.0], [-0.5, 2.0, 1.0, 0.0]]> : tensor<32x4xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x32xf32>, tensor<32x4xf32>)
                     outs(%acc : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// LLVM-NOT: {{^ *(%.* = )?"?sherry\.}}
// LLVM: llvm.func @dense

// BAD: sherry-to-llvm: unknown target 'bogus'; expected 'portable', 'avx512-vnni', 'avx512-bw', 'avx2', 'neon-dotprod', 'neon', 'host' or 'module'

// docs/embedding.md's plugin commands run as written, in a scratch
// directory whose build/ is this build.
// RUN: rm -rf %t.doc && mkdir -p %t.doc && ln -s %sherry_build_dir %t.doc/build
// RUN: %python %sherry_src_root/utils/doc-commands.py %sherry_src_root/docs/embedding.md printf mlir-opt > %t.doc/commands.sh
// RUN: FileCheck %s --check-prefix=COUNT < %t.doc/commands.sh
// RUN: cd %t.doc && bash -e commands.sh && FileCheck %s --check-prefix=DOC < f.llvm.mlir
// COUNT-COUNT-2: f.mlir
// DOC: llvm.func @f(
