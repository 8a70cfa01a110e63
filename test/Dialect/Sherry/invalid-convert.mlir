// RUN: sherry-opt %s -split-input-file -verify-diagnostics

func.func @quantize_block(%x: tensor<3x256xf32>) {
  // expected-error @+1 {{block size 96 does not divide K = 256}}
  %q, %s = sherry.quantize_activations %x block 96
             : tensor<3x256xf32> -> tensor<3x256xi8>, tensor<3x2xf32>
  return
}

// -----

func.func @quantize_scales(%x: tensor<3x256xf32>) {
  // expected-error @+1 {{scales must have shape [3x2], got 'tensor<3xf32>'}}
  %q, %s = sherry.quantize_activations %x block 128
             : tensor<3x256xf32> -> tensor<3x256xi8>, tensor<3xf32>
  return
}

// -----

func.func @quantize_values(%x: tensor<3x256xf32>) {
  // expected-error @+1 {{values must have the input's shape 'tensor<3x256xf32>', got 'tensor<3x128xi8>'}}
  %q, %s = sherry.quantize_activations %x
             : tensor<3x256xf32> -> tensor<3x128xi8>, tensor<3xf32>
  return
}

// -----

func.func @quantize_rank(%x: tensor<256xf32>) {
  // expected-error @+1 {{input must be 2-D (N x K), got 'tensor<256xf32>'}}
  %q, %s = sherry.quantize_activations %x
             : tensor<256xf32> -> tensor<256xi8>, tensor<1xf32>
  return
}

// -----

func.func @ternarize_k(%w: tensor<4x100xf32>) {
  // expected-error @+1 {{K = 100 is not a positive multiple of 32, which the sherry layout requires}}
  %t, %s = sherry.ternarize %w layout<sherry, row>
             : tensor<4x100xf32> -> tensor<4x100xi8>, tensor<4xf32>
  return
}

// -----

func.func @ternarize_scales(%w: tensor<4x256xf32>) {
  // expected-error @+1 {{scales of group granularity must have shape [4x2], got 'tensor<4xf32>'}}
  %t, %s = sherry.ternarize %w layout<sherry, group = 128>
             : tensor<4x256xf32> -> tensor<4x256xi8>, tensor<4xf32>
  return
}

// -----

func.func @ternarize_stq_scale_type(%w: tensor<4x256xf32>) {
  // expected-error @+1 {{scales must have the layout's scale type 'f16', got 'f32'}}
  %t, %s = sherry.ternarize %w layout<stq1_0>
             : tensor<4x256xf32> -> tensor<4x256xi8>, tensor<4x1xf32>
  return
}

// -----

func.func @ternarize_values(%w: tensor<4x256xf32>) {
  // expected-error @+1 {{values must have the weights' shape 'tensor<4x256xf32>', got 'tensor<4x128xi8>'}}
  %t, %s = sherry.ternarize %w layout<sherry, tensor>
             : tensor<4x256xf32> -> tensor<4x128xi8>, tensor<1xf32>
  return
}

// -----

func.func @pack_bytes(%t: tensor<4x256xi8>) {
  // expected-error @+1 {{packed bytes have 32 bytes per row, but K = 256 in the sherry layout needs 40}}
  %p = sherry.pack %t layout<sherry, row> : tensor<4x256xi8> -> tensor<4x32xi8>
  return
}

// -----

func.func @pack_rows(%t: tensor<4x256xi8>) {
  // expected-error @+1 {{packed bytes have 5 rows, but the values have M = 4}}
  %p = sherry.pack %t layout<sherry, row> : tensor<4x256xi8> -> tensor<5x40xi8>
  return
}

// -----

func.func @pack_sherry_scales(%t: tensor<4x256xi8>, %s: tensor<4x1xf16>) {
  // expected-error @+1 {{the sherry layout keeps its scales apart from the bytes; pack takes no scales operand}}
  %p = sherry.pack %t scales(%s : tensor<4x1xf16>) layout<sherry, row>
         : tensor<4x256xi8> -> tensor<4x40xi8>
  return
}

// -----

func.func @pack_stq_no_scales(%t: tensor<4x256xi8>) {
  // expected-error @+1 {{the stq1_0 layout stores its scales in the bytes; pack needs a scales operand}}
  %p = sherry.pack %t layout<stq1_0> : tensor<4x256xi8> -> tensor<4x42xi8>
  return
}

// -----

func.func @pack_stq_scale_shape(%t: tensor<4x512xi8>, %s: tensor<4x1xf16>) {
  // expected-error @+1 {{scales of group granularity must have shape [4x2], got 'tensor<4x1xf16>'}}
  %p = sherry.pack %t scales(%s : tensor<4x1xf16>) layout<stq1_0>
         : tensor<4x512xi8> -> tensor<4x84xi8>
  return
}

// -----

func.func @unpack_bytes(%p: tensor<4x41xi8>) {
  // expected-error @+1 {{packed bytes have 41 bytes per row, but K = 256 in the sherry layout needs 40}}
  %t = sherry.unpack %p layout<sherry, row> : tensor<4x41xi8> -> tensor<4x256xi8>
  return
}

// -----

func.func @unpack_rows(%p: tensor<4x40xi8>) {
  // expected-error @+1 {{packed bytes have 4 rows, but the result has M = 3}}
  %t = sherry.unpack %p layout<sherry, row> : tensor<4x40xi8> -> tensor<3x256xi8>
  return
}

// -----

func.func @unpack_rank(%p: tensor<4x40xi8>) {
  // expected-error @+1 {{result must be 2-D (M x K), got 'tensor<1024xi8>'}}
  %t = sherry.unpack %p layout<sherry, row> : tensor<4x40xi8> -> tensor<1024xi8>
  return
}

// -----

func.func @dequantize_missing_scales(%p: tensor<4x40xi8>) {
  // expected-error @+1 {{the sherry layout needs a scales operand}}
  %w = sherry.dequantize %p layout<sherry, row> : tensor<4x40xi8> -> tensor<4x256xf32>
  return
}

// -----

func.func @dequantize_stq_scales(%p: tensor<4x42xi8>, %s: tensor<4x1xf16>) {
  // expected-error @+1 {{the stq1_0 layout keeps its scales inside the weight bytes; it takes no scales operand}}
  %w = sherry.dequantize %p scales(%s : tensor<4x1xf16>) layout<stq1_0>
         : tensor<4x42xi8> -> tensor<4x256xf32>
  return
}

// -----

func.func @quantize_negative_block(%x: tensor<3x256xf32>) {
  // expected-error @+1 {{block size must be positive, got -4}}
  %q, %s = sherry.quantize_activations %x block -4
             : tensor<3x256xf32> -> tensor<3x256xi8>, tensor<3x2xf32>
  return
}

// -----

func.func @ternarize_rank(%w: tensor<256xf32>) {
  // expected-error @+1 {{weights must be 2-D (M x K), got 'tensor<256xf32>'}}
  %t, %s = sherry.ternarize %w layout<sherry, tensor>
             : tensor<256xf32> -> tensor<256xi8>, tensor<1xf32>
  return
}

// -----

func.func @pack_rank(%t: tensor<256xi8>) {
  // expected-error @+1 {{values must be 2-D (M x K), got 'tensor<256xi8>'}}
  %p = sherry.pack %t layout<sherry, row> : tensor<256xi8> -> tensor<1x40xi8>
  return
}

// -----

func.func @pack_result_rank(%t: tensor<4x256xi8>) {
  // expected-error @+1 {{packed bytes must be 2-D (M x bytes per row) of i8, got 'tensor<160xi8>'}}
  %p = sherry.pack %t layout<sherry, row> : tensor<4x256xi8> -> tensor<160xi8>
  return
}
