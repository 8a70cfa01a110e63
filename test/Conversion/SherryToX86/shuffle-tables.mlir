// RUN: sherry-opt %s -convert-sherry-to-x86="isa=avx512-bw strategy=tables" | FileCheck %s
// RUN: sherry-opt %s -convert-sherry-to-x86="isa=avx2 strategy=tables" | FileCheck %s --check-prefix=AVX2
// RUN: sherry-opt %s --sherry-to-llvm="target=avx512-bw strategy=tables" | mlir-translate --mlir-to-llvmir | llc -O3 -mtriple=x86_64-linux-gnu -mcpu=znver4 | FileCheck %s --check-prefix=BW-ASM
// RUN: sherry-opt %s --sherry-to-llvm="target=avx2 strategy=tables" | mlir-translate --mlir-to-llvmir | llc -O3 -mtriple=x86_64-linux-gnu -mcpu=znver4 | FileCheck %s --check-prefix=AVX2-ASM

// The table kernel on vpshufb (AVX-512BW, AVX2). Constant weights are
// regrouped at compile time into the tables layout, lanes order (2 rows pad
// to one tile of 32: 1 x (32 / 16 * 80) bytes of codes), followed by each
// row's count of negative groups per segment (1 tile x 1 segment x 32 rows,
// one byte each: sign bytes 5 and 90 set 2 and 4 of the rows' 8 sign
// bits). Tables: per step, the 4 groups' 16 canonical sums as
// low and high bytes (N x K/16 x 128). Per step and tile: the nibbles index
// vpshufb, the sign bits (a mask) complement both bytes, and
// vpunpck{l,h}bw forms i16 sums (4 accumulators of 32 lanes); at each flush
// the 4 group lanes add up per row in i32, and the counts are added back
// per segment.
// CHECK-LABEL: func @constant_weights
// CHECK-DAG: %[[W:.*]] = arith.constant dense<"0x010F{{(([0-9A-F]{158}){2})}}0204{{(0{60})}}"> : tensor<192xi8>
// CHECK: %[[NEG:.*]] = tensor.extract_slice %[[W]][160] [32] [1] : tensor<192xi8> to tensor<32xi8>
// CHECK: %[[Q:.*]], %{{.*}} = sherry.quantize_activations %{{.*}} : tensor<3x32xf32> -> tensor<3x32xi8>, tensor<3xf32>
// CHECK: %[[T:.*]] = scf.for {{.*}} -> (tensor<?x2x128xi8>)
// CHECK:   arith.muli {{.*}} : vector<64xi16>
// CHECK:   vector.transfer_write {{.*}} : vector<64xi8>, tensor<?x2x128xi8>
// CHECK:   vector.transfer_write {{.*}} : vector<64xi8>, tensor<?x2x128xi8>
// CHECK: scf.forall
// CHECK:   scf.for {{.*}} -> (vector<32xi16>, vector<32xi16>, vector<32xi16>, vector<32xi16>)
// CHECK:     vector.bitcast {{.*}} : vector<8xi8> to vector<64xi1>
// CHECK:     arith.extsi {{.*}} : vector<64xi1> to vector<64xi8>
// CHECK:     sherry_x86.avx512.vpshufb
// CHECK:     arith.xori
// CHECK:     sherry_x86.avx512.vpshufb
// CHECK:     arith.xori
// CHECK:     vector.shuffle {{.*}} : vector<64xi8>, vector<64xi8>
// CHECK:     vector.bitcast {{.*}} : vector<64xi8> to vector<32xi16>
// CHECK:   arith.extsi {{.*}} : vector<32xi16> to vector<32xi32>
// CHECK:   vector.extract_strided_slice {{.*}} : vector<32xi32> to vector<8xi32>
// CHECK:   vector.transfer_read %[[NEG]][{{.*}}], {{.*}} : tensor<32xi8>, vector<32xi8>
// CHECK:   arith.extui {{.*}} : vector<32xi8> to vector<32xi32>
// CHECK:   arith.sitofp {{.*}} : vector<32xi32> to vector<32xf32>
// CHECK-NOT: sherry.matmul

// On AVX2, no mask registers (a byte shuffle, vpand and vpcmpeqb spread the
// sign bits), each 512-bit lookup as two 256-bit vpshufb, and 4 accumulators
// of 16 lanes, each summing the two 256-bit halves.
// AVX2-LABEL: func @constant_weights
// AVX2:   scf.for {{.*}} -> (vector<16xi16>, vector<16xi16>, vector<16xi16>, vector<16xi16>)
// AVX2:     arith.cmpi eq, {{.*}} : vector<64xi8>
// AVX2:     sherry_x86.avx2.vpshufb {{.*}} : vector<32xi8>
// AVX2:     sherry_x86.avx2.vpshufb {{.*}} : vector<32xi8>
// AVX2-NOT: sherry_x86.avx512

// BW-ASM-LABEL: constant_weights:
// BW-ASM: vpmovm2b
// BW-ASM: vpshufb {{.*}}zmm
// BW-ASM: vpunpcklbw {{.*}}zmm
// BW-ASM: vpaddw {{.*}}zmm
// BW-ASM-NOT: vpermb
// AVX2-ASM-LABEL: constant_weights:
// AVX2-ASM: vpcmpeqb {{.*}}ymm
// AVX2-ASM: vpshufb {{.*}}ymm
// AVX2-ASM: vpunpcklbw {{.*}}ymm
// AVX2-ASM-NOT: zmm
func.func @constant_weights(%x: tensor<3x32xf32>, %s: tensor<2xf32>,
                            %i: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1, 35, 69, 103, 5], [-1, -2, -3, -4, 90]]> : tensor<2x5xi8>
  %y = sherry.matmul ins(%x, %w : tensor<3x32xf32>, tensor<2x5xi8>)
         scales(%s : tensor<2xf32>) outs(%i : tensor<3x2xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
