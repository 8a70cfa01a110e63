// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables" | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=decode" | FileCheck %s --check-prefix=DECODE
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-parts=2 table-part-weights=0" | FileCheck %s --check-prefix=PARTS
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-parts=2" | FileCheck %s --check-prefix=SMALL
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-parts=3 table-part-weights=1024" | FileCheck %s --check-prefix=TWO
// RUN: not sherry-opt %s -convert-sherry-to-x86="table-parts=-1" 2>&1 | FileCheck %s --check-prefix=BADPARTS
// RUN: not sherry-opt %s -convert-sherry-to-x86="table-part-weights=-1" 2>&1 | FileCheck %s --check-prefix=BADWEIGHTS
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-bytes=1024" | FileCheck %s --check-prefix=ROWS
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables table-bytes=1024 table-parts=2 table-part-weights=0" | FileCheck %s --check-prefix=ROWPARTS
// RUN: not sherry-opt %s -convert-sherry-to-x86="table-bytes=-1" 2>&1 | FileCheck %s --check-prefix=BADBYTES

// With table-parts, a forall over the parts, each building its own tables
// (an allocation that loop-invariant code motion leaves in the part) and
// then running its tiles in order (here: one tile, in the last part).
// PARTS-LABEL: func @constant_weights
// PARTS: sherry.quantize_activations
// PARTS: scf.forall (%{{.*}}) in (2) shared_outs
// PARTS:   bufferization.alloc_tensor
// PARTS:   scf.for {{.*}} -> (tensor<?x2x256xi8>)
// PARTS:   tensor.extract_slice
// PARTS:   scf.for {{.*}} step %c1 iter_args({{.*}}) -> (tensor<?x?xf32>)
// PARTS:   tensor.parallel_insert_slice
// Parts hold at least table-part-weights weights (by default 2^21): one
// tile of 32 x 32 is too small to share, and its blocks run in order
// without a forall; @two_tiles (2048 weights) splits in two parts of 1024,
// not three. A static N counts: @constant_weights (1024 weights, N = 3)
// splits in three.
// SMALL-LABEL: func @constant_weights
// SMALL-NOT: scf.forall
// SMALL: scf.for {{.*}} -> (tensor<?x2x256xi8>)
// SMALL: scf.for {{.*}} iter_args({{.*}}) -> (tensor<3x2xf32>)
// SMALL-NOT: scf.forall
// SMALL: return
// TWO-LABEL: func @constant_weights
// TWO: scf.forall (%{{.*}}) in (3) shared_outs
// TWO-LABEL: func @two_tiles
// TWO: scf.forall (%{{.*}}) in (2) shared_outs
// BADPARTS: for the --table-parts option: '-1' value invalid for uint argument!
// Tables of at most table-bytes at a time: K = 32 takes 2 x 256 table
// bytes per activation row, so 1024 bytes hold 2 rows and N = 3 runs in
// blocks of 2 and 1, each slicing the activations, their scales and the
// output rows, building the block's tables and then passing over the
// tiles; with parts, each part blocks its rows.
// ROWS-LABEL: func @constant_weights
// ROWS: sherry.quantize_activations
// ROWS: scf.for %[[R:.*]] = %c0 to %c3 step %c2 iter_args
// ROWS:   %[[LEFT:.*]] = arith.subi %c3, %[[R]]
// ROWS:   %[[ROWS:.*]] = arith.minui %[[LEFT]], %c2
// ROWS:   tensor.extract_slice %{{.*}}[%[[R]], 0] [%[[ROWS]], 32] [1, 1] : tensor<3x32xi8> to tensor<?x32xi8>
// ROWS:   bufferization.alloc_tensor(%[[ROWS]]) : tensor<?x2x256xi8>
// ROWS:   tensor.extract_slice %{{.*}}[%[[R]]] [%[[ROWS]]] [1] : tensor<3xf32> to tensor<?xf32>
// ROWS:   tensor.extract_slice %{{.*}}[%[[R]], 0] [%[[ROWS]], 2] [1, 1] : tensor<3x2xf32> to tensor<?x2xf32>
// ROWS:   scf.forall
// ROWS:   tensor.insert_slice {{.*}} into %{{.*}}[%[[R]], 0] [%[[ROWS]], 2] [1, 1] : tensor<?x2xf32> into tensor<3x2xf32>
// ROWS-LABEL: func @two_tiles
// ROWPARTS-LABEL: func @constant_weights
// ROWPARTS: scf.forall (%{{.*}}) in (2) shared_outs
// ROWPARTS:   scf.for %{{.*}} = %c0 to %{{.*}} step %c2 iter_args
// ROWPARTS:     bufferization.alloc_tensor
// ROWPARTS:   tensor.parallel_insert_slice
// BADBYTES: for the --table-bytes option: '-1' value invalid for ulong argument!
// BADWEIGHTS: for the --table-part-weights option: '-1' value invalid for ulong argument!
// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-vnni" | mlir-translate --mlir-to-llvmir | llc -O3 -mtriple=x86_64-linux-gnu -mattr=+avx512f,+avx512bw,+avx512vbmi,+avx512vnni | FileCheck %s --check-prefix=ASM

// Constant weights: regrouped at compile time (2 rows pad to one tile of
// 32: 32 / 16 * 80 bytes); tables of activation sums built once per
// call (N x K/16 x 256 bytes); an scf.forall over blocks of tiles; per step
// of 16 elements, two vpermb per nibble set and vpmaddubsw into i16 lanes,
// widened to i32 per flush; lanes combine like the reference, and rows past
// M are masked off by the transfer_write.
// CHECK-LABEL: func @constant_weights
// CHECK: %[[Q:.*]], %[[QS:.*]] = sherry.quantize_activations %{{.*}} : tensor<3x32xf32> -> tensor<3x32xi8>, tensor<3xf32>
// CHECK: %[[T:.*]] = scf.for {{.*}} -> (tensor<?x2x256xi8>)
// CHECK:   vector.transfer_read %[[Q]]{{.*}} : tensor<3x32xi8>, vector<16xi8>
// CHECK:   arith.muli {{.*}} : vector<32xi16>
// CHECK:   vector.transfer_write {{.*}} : vector<64xi8>, tensor<?x2x256xi8>
// CHECK: scf.forall (%[[TILE:.*]]) in (%{{.*}}) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<3x2xf32>)
// CHECK:   tensor.extract_slice
// CHECK:   vector.transfer_read %[[T]]
// CHECK:   vector.transfer_read %{{.*}}[%{{.*}}]{{.*}} : tensor<160xi8>, vector<64xi8>
// CHECK:   vector.bitcast {{.*}} : vector<8xi8> to vector<64xi1>
// CHECK:   sherry_x86.avx512.vpermb
// CHECK:   sherry_x86.avx512.vpermb
// CHECK:   sherry_x86.avx512.vpmaddubsw {{.*}} : vector<64xi8> -> vector<32xi16>
// CHECK:   arith.extsi {{.*}} : vector<32xi16> to vector<32xi32>
// CHECK:   arith.sitofp {{.*}} : vector<32xi32> to vector<32xf32>
// CHECK:   vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}] : vector<32xf32>, tensor<?x?xf32>
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice
// CHECK-NOT: sherry.matmul
// DECODE-LABEL: func @constant_weights
// DECODE: sherry.matmul
// ASM-LABEL: constant_weights:
// ASM: vpermb
// ASM: vpmaddubsw
func.func @constant_weights(%x: tensor<3x32xf32>, %s: tensor<2xf32>,
                            %i: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1, 35, 69, 103, 5], [-1, -2, -3, -4, 90]]> : tensor<2x5xi8>
  %y = sherry.matmul ins(%x, %w : tensor<3x32xf32>, tensor<2x5xi8>)
         scales(%s : tensor<2xf32>) outs(%i : tensor<3x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// Weights that are arguments are no constant: left for strategy=decode.
// CHECK-LABEL: func @argument_weights
// CHECK: sherry.matmul
func.func @argument_weights(%x: tensor<1x64xf32>, %w: tensor<2x10xi8>,
                            %s: tensor<2xf32>, %i: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<1x64xf32>, tensor<2x10xi8>)
         scales(%s : tensor<2xf32>) outs(%i : tensor<1x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// With tables-max-batch (what strategy=auto sets: 4), a static batch of 4
// rows or more goes to the decode kernel, which shares each decoded chunk
// between rows; dynamic N (decoding) keeps the tables.
// RUN: sherry-opt %s -convert-sherry-to-x86="strategy=tables tables-max-batch=4" | FileCheck %s --check-prefix=BATCH
// BATCH-LABEL: func @batch8
// BATCH: sherry.matmul
// BATCH-LABEL: func @dynamic_batch
// BATCH-NOT: sherry.matmul
// BATCH: sherry_x86.avx512.vpermb
func.func @batch8(%x: tensor<8x32xf32>, %s: tensor<2xf32>,
                  %i: tensor<8x2xf32>) -> tensor<8x2xf32> {
  %w = arith.constant dense<[[1, 35, 69, 103, 5], [-1, -2, -3, -4, 90]]> : tensor<2x5xi8>
  %y = sherry.matmul ins(%x, %w : tensor<8x32xf32>, tensor<2x5xi8>)
         scales(%s : tensor<2xf32>) outs(%i : tensor<8x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<8x2xf32>
  return %y : tensor<8x2xf32>
}

func.func @dynamic_batch(%x: tensor<?x32xf32>, %s: tensor<2xf32>,
                         %i: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[1, 35, 69, 103, 5], [-1, -2, -3, -4, 90]]> : tensor<2x5xi8>
  %y = sherry.matmul ins(%x, %w : tensor<?x32xf32>, tensor<2x5xi8>)
         scales(%s : tensor<2xf32>) outs(%i : tensor<?x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

func.func @two_tiles(%x: tensor<1x32xf32>, %s: tensor<64xf32>,
                     %i: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %w = arith.constant dense<7> : tensor<64x5xi8>
  %y = sherry.matmul ins(%x, %w : tensor<1x32xf32>, tensor<64x5xi8>)
         scales(%s : tensor<64xf32>) outs(%i : tensor<1x64xf32>)
         layout<sherry, row> mode<int8> -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}
