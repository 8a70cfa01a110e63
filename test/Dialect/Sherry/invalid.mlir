// RUN: sherry-opt %s -split-input-file -verify-diagnostics

func.func @k_not_multiple_of_32(%x: tensor<1x48xf32>, %w: tensor<4x7xi8>,
                                %s: tensor<4xf32>, %i: tensor<1x4xf32>) {
  // expected-error @+1 {{K = 48 is not a positive multiple of 32, which the sherry layout requires}}
  %y = sherry.matmul ins(%x, %w : tensor<1x48xf32>, tensor<4x7xi8>)
         scales(%s : tensor<4xf32>) outs(%i : tensor<1x4xf32>)
         layout<sherry, row> -> tensor<1x4xf32>
  return
}

// -----

func.func @k_not_multiple_of_256(%x: tensor<1x320xf32>, %w: tensor<4x42xi8>,
                                 %i: tensor<1x4xf32>) {
  // expected-error @+1 {{K = 320 is not a positive multiple of 256, which the stq1_0 layout requires}}
  %y = sherry.matmul ins(%x, %w : tensor<1x320xf32>, tensor<4x42xi8>)
         outs(%i : tensor<1x4xf32>) layout<stq1_0> -> tensor<1x4xf32>
  return
}

// -----

func.func @k_not_multiple_of_group(%x: tensor<1x96xf32>, %w: tensor<4x15xi8>,
                                   %s: tensor<4x1xf32>, %i: tensor<1x4xf32>) {
  // expected-error @+1 {{K = 96 is not a multiple of the scale group size 64}}
  %y = sherry.matmul ins(%x, %w : tensor<1x96xf32>, tensor<4x15xi8>)
         scales(%s : tensor<4x1xf32>) outs(%i : tensor<1x4xf32>)
         layout<sherry, group = 64> -> tensor<1x4xf32>
  return
}

// -----

func.func @wrong_row_bytes(%x: tensor<1x512xf32>, %w: tensor<4x40xi8>,
                           %s: tensor<4xf32>, %i: tensor<1x4xf32>) {
  // expected-error @+1 {{weights have 40 bytes per row, but K = 512 in the sherry layout needs 80}}
  %y = sherry.matmul ins(%x, %w : tensor<1x512xf32>, tensor<4x40xi8>)
         scales(%s : tensor<4xf32>) outs(%i : tensor<1x4xf32>)
         layout<sherry, row> -> tensor<1x4xf32>
  return
}

// -----

func.func @init_rows(%x: tensor<2x256xf32>, %w: tensor<4x40xi8>,
                     %s: tensor<4xf32>, %i: tensor<3x4xf32>) {
  // expected-error @+1 {{init has 3 rows, but the input has N = 2}}
  %y = sherry.matmul ins(%x, %w : tensor<2x256xf32>, tensor<4x40xi8>)
         scales(%s : tensor<4xf32>) outs(%i : tensor<3x4xf32>)
         layout<sherry, row> -> tensor<3x4xf32>
  return
}

// -----

func.func @init_cols(%x: tensor<2x256xf32>, %w: tensor<4x40xi8>,
                     %s: tensor<4xf32>, %i: tensor<2x5xf32>) {
  // expected-error @+1 {{init has 5 columns, but the weights have M = 4}}
  %y = sherry.matmul ins(%x, %w : tensor<2x256xf32>, tensor<4x40xi8>)
         scales(%s : tensor<4xf32>) outs(%i : tensor<2x5xf32>)
         layout<sherry, row> -> tensor<2x5xf32>
  return
}

// -----

func.func @scale_shape(%x: tensor<2x256xf32>, %w: tensor<4x40xi8>,
                       %s: tensor<4x2xf32>, %i: tensor<2x4xf32>) {
  // expected-error @+1 {{scales of group granularity must have shape [4x8], got 'tensor<4x2xf32>'}}
  %y = sherry.matmul ins(%x, %w : tensor<2x256xf32>, tensor<4x40xi8>)
         scales(%s : tensor<4x2xf32>) outs(%i : tensor<2x4xf32>)
         layout<sherry, group = 32> -> tensor<2x4xf32>
  return
}

// -----

func.func @scale_shape_row(%x: tensor<2x256xf32>, %w: tensor<4x40xi8>,
                           %s: tensor<1xf32>, %i: tensor<2x4xf32>) {
  // expected-error @+1 {{scales of row granularity must have shape [4], got 'tensor<1xf32>'}}
  %y = sherry.matmul ins(%x, %w : tensor<2x256xf32>, tensor<4x40xi8>)
         scales(%s : tensor<1xf32>) outs(%i : tensor<2x4xf32>)
         layout<sherry, row> -> tensor<2x4xf32>
  return
}

// -----

func.func @scale_type(%x: tensor<2x256xf32>, %w: tensor<4x40xi8>,
                      %s: tensor<4xf16>, %i: tensor<2x4xf32>) {
  // expected-error @+1 {{scales must have the layout's scale type 'f32', got 'f16'}}
  %y = sherry.matmul ins(%x, %w : tensor<2x256xf32>, tensor<4x40xi8>)
         scales(%s : tensor<4xf16>) outs(%i : tensor<2x4xf32>)
         layout<sherry, row> -> tensor<2x4xf32>
  return
}

// -----

func.func @missing_scales(%x: tensor<2x256xf32>, %w: tensor<4x40xi8>,
                          %i: tensor<2x4xf32>) {
  // expected-error @+1 {{the sherry layout needs a scales operand}}
  %y = sherry.matmul ins(%x, %w : tensor<2x256xf32>, tensor<4x40xi8>)
         outs(%i : tensor<2x4xf32>) layout<sherry, row> -> tensor<2x4xf32>
  return
}

// -----

func.func @stq_with_scales(%x: tensor<1x256xf32>, %w: tensor<4x42xi8>,
                           %s: tensor<4xf32>, %i: tensor<1x4xf32>) {
  // expected-error @+1 {{the stq1_0 layout keeps its scales inside the weight bytes; it takes no scales operand}}
  %y = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<4x42xi8>)
         scales(%s : tensor<4xf32>) outs(%i : tensor<1x4xf32>)
         layout<stq1_0> -> tensor<1x4xf32>
  return
}

// -----

func.func @bias_shape(%x: tensor<2x256xf32>, %w: tensor<4x40xi8>,
                      %s: tensor<4xf32>, %b: tensor<5xf32>,
                      %i: tensor<2x4xf32>) {
  // expected-error @+1 {{bias must have shape [4] and the init's element type 'f32', got 'tensor<5xf32>'}}
  %y = sherry.matmul ins(%x, %w : tensor<2x256xf32>, tensor<4x40xi8>)
         scales(%s : tensor<4xf32>) bias(%b : tensor<5xf32>)
         outs(%i : tensor<2x4xf32>) layout<sherry, row> -> tensor<2x4xf32>
  return
}

// -----

func.func @input_type(%x: tensor<2x256xi8>, %w: tensor<4x40xi8>,
                      %s: tensor<4xf32>, %i: tensor<2x4xf32>) {
  // expected-error @+1 {{input must be 2-D (N x K) of f32, f16 or bf16, got 'tensor<2x256xi8>'}}
  %y = sherry.matmul ins(%x, %w : tensor<2x256xi8>, tensor<4x40xi8>)
         scales(%s : tensor<4xf32>) outs(%i : tensor<2x4xf32>)
         layout<sherry, row> -> tensor<2x4xf32>
  return
}

// -----

func.func @weights_type(%x: tensor<2x256xf32>, %w: tensor<4x40xi32>,
                        %s: tensor<4xf32>, %i: tensor<2x4xf32>) {
  // expected-error @+1 {{weights must be 2-D (M x bytes per row) of i8, got 'tensor<4x40xi32>'}}
  %y = sherry.matmul ins(%x, %w : tensor<2x256xf32>, tensor<4x40xi32>)
         scales(%s : tensor<4xf32>) outs(%i : tensor<2x4xf32>)
         layout<sherry, row> -> tensor<2x4xf32>
  return
}

// -----

func.func @init_type(%x: tensor<2x256xf32>, %w: tensor<4x40xi8>,
                     %s: tensor<4xf32>, %i: tensor<2x4xi32>) {
  // expected-error @+1 {{init must be 2-D (N x M) of a float type, got 'tensor<2x4xi32>'}}
  %y = sherry.matmul ins(%x, %w : tensor<2x256xf32>, tensor<4x40xi8>)
         scales(%s : tensor<4xf32>) outs(%i : tensor<2x4xi32>)
         layout<sherry, row> -> tensor<2x4xi32>
  return
}

// -----

func.func @result_type(%x: tensor<2x256xf32>, %w: tensor<4x40xi8>,
                       %s: tensor<4xf32>, %i: tensor<2x4xf32>) {
  // expected-error @+1 {{result type 'tensor<2x4xf16>' differs from the init type 'tensor<2x4xf32>'}}
  %y = sherry.matmul ins(%x, %w : tensor<2x256xf32>, tensor<4x40xi8>)
         scales(%s : tensor<4xf32>) outs(%i : tensor<2x4xf32>)
         layout<sherry, row> -> tensor<2x4xf16>
  return
}

// -----

func.func @mixed_levels(%x: memref<2x256xf32>, %w: tensor<4x40xi8>,
                        %s: tensor<4xf32>, %i: tensor<2x4xf32>) {
  // expected-error @+1 {{operands must be all tensors or all memrefs, but 'memref<2x256xf32>' differs from the init type 'tensor<2x4xf32>'}}
  %y = sherry.matmul ins(%x, %w : memref<2x256xf32>, tensor<4x40xi8>)
         scales(%s : tensor<4xf32>) outs(%i : tensor<2x4xf32>)
         layout<sherry, row> -> tensor<2x4xf32>
  return
}

// -----

func.func @tensor_without_result(%x: tensor<2x256xf32>, %w: tensor<4x40xi8>,
                                 %s: tensor<4xf32>, %i: tensor<2x4xf32>) {
  // expected-error @+1 {{on tensors has exactly one result}}
  sherry.matmul ins(%x, %w : tensor<2x256xf32>, tensor<4x40xi8>)
    scales(%s : tensor<4xf32>) outs(%i : tensor<2x4xf32>) layout<sherry, row>
  return
}

// -----

func.func @memref_with_result(%x: memref<2x256xf32>, %w: memref<4x40xi8>,
                              %s: memref<4xf32>, %i: memref<2x4xf32>) {
  // expected-error @+1 {{on memrefs has no result}}
  %y = sherry.matmul ins(%x, %w : memref<2x256xf32>, memref<4x40xi8>)
         scales(%s : memref<4xf32>) outs(%i : memref<2x4xf32>)
         layout<sherry, row> -> tensor<2x4xf32>
  return
}
