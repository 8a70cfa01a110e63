// RUN: sherry-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{'order' is a parameter of the tables layout, not of sherry}}
func.func @f() attributes {a = #sherry.layout<sherry, row, order = lanes>} { return }

// -----

// expected-error @+1 {{unknown table order 'nibbles'; expected 'lanes', 'pairs' or 'words'}}
func.func @f() attributes {a = #sherry.layout<tables, row, order = nibbles>} { return }

// -----

// expected-error @+1 {{unknown grouping 'tables'; expected 'sherry' or 'stq1_0'}}
func.func @f() attributes {a = #sherry.layout<tables, row, grouping = tables>} { return }

// -----

// expected-error @+1 {{the tables layout's tile_block must be in 1..64, got 0}}
func.func @f() attributes {a = #sherry.layout<tables, row, tile_block = 0>} { return }

// -----

// expected-error @+1 {{the tables layout (words order) reads 64 K elements at a time: scale groups must be a multiple of 64, got 32}}
func.func @f() attributes {a = #sherry.layout<tables, group = 32, order = words>} { return }

// -----

// expected-error @+1 {{'tile_block' given twice}}
func.func @f() attributes {a = #sherry.layout<tables, row, tile_block = 2, tile_block = 4>} { return }

// -----

func.func @bytes(%x: tensor<3x96xf32>, %w: tensor<1000xi8>, %s: tensor<40xf32>,
                 %init: tensor<3x40xf32>) -> tensor<3x40xf32> {
  // expected-error @+1 {{weights have 1000 bytes, but 40 x 96 in #sherry.layout<tables, row> needs 1024}}
  %y = sherry.matmul ins(%x, %w : tensor<3x96xf32>, tensor<1000xi8>)
         scales(%s : tensor<40xf32>) outs(%init : tensor<3x40xf32>)
         layout<tables, row> mode<int8> -> tensor<3x40xf32>
  return %y : tensor<3x40xf32>
}

// -----

func.func @rank(%x: tensor<3x96xf32>, %w: tensor<40x15xi8>, %s: tensor<40xf32>,
                %init: tensor<3x40xf32>) -> tensor<3x40xf32> {
  // expected-error @+1 {{weights in the tables layout must be 1-D i8 (all the layout's bytes), got 'tensor<40x15xi8>'}}
  %y = sherry.matmul ins(%x, %w : tensor<3x96xf32>, tensor<40x15xi8>)
         scales(%s : tensor<40xf32>) outs(%init : tensor<3x40xf32>)
         layout<tables, row> mode<int8> -> tensor<3x40xf32>
  return %y : tensor<3x40xf32>
}

// -----

func.func @regroup(%w: tensor<2x5xi8>) -> tensor<192xi8> {
  // expected-error @+1 {{the tables layout must keep the grouping of sherry (regrouping would re-pick the zeros training chose), got grouping = stq1_0}}
  %t = sherry.repack %w from <sherry, row> to <tables, row, grouping = stq1_0>
         : tensor<2x5xi8> -> tensor<192xi8>
  return %t : tensor<192xi8>
}

// -----

func.func @canonical(%w: tensor<2x5xi8>) -> tensor<2x42xi8> {
  // expected-error @+1 {{moves codes between a canonical layout (sherry or stq1_0) and the tables layout, got #sherry.layout<sherry, row> to #sherry.layout<stq1_0>}}
  %t = sherry.repack %w from <sherry, row> to <stq1_0>
         : tensor<2x5xi8> -> tensor<2x42xi8>
  return %t : tensor<2x42xi8>
}

// -----

func.func @scales(%w: tensor<2x5xi8>) -> tensor<192xi8> {
  // expected-error @+1 {{the scales of #sherry.layout<tables, tensor> must be those of #sherry.layout<sherry, row> (the same granularity and scale type)}}
  %t = sherry.repack %w from <sherry, row> to <tables, tensor>
         : tensor<2x5xi8> -> tensor<192xi8>
  return %t : tensor<192xi8>
}

// -----

func.func @size(%w: tensor<2x5xi8>) -> tensor<100xi8> {
  // expected-error @+1 {{the tables bytes have 100 bytes, but 2 x 32 in #sherry.layout<tables, row> needs 192}}
  %t = sherry.repack %w from <sherry, row> to <tables, row>
         : tensor<2x5xi8> -> tensor<100xi8>
  return %t : tensor<100xi8>
}

// -----

func.func @stq_scales(%w: tensor<1x42xi8>) -> tensor<1312xi8> {
  // expected-error @+1 {{from stq1_0 returns the block scales the tables layout keeps apart}}
  %t = sherry.repack %w from <stq1_0> to <tables, group = 256, scale_type = f16, grouping = stq1_0>
         : tensor<1x42xi8> -> tensor<1312xi8>
  return %t : tensor<1312xi8>
}

// -----

func.func @into_stq(%t: tensor<1312xi8>, %s: tensor<1x1xf16>) -> tensor<1x42xi8> {
  // expected-error @+1 {{stq1_0 stores f16 scales: the tables layout's scale_type must be f16, got 'f32'}}
  %b = sherry.repack %t scales(%s : tensor<1x1xf16>)
         from <tables, group = 256, grouping = stq1_0> to <stq1_0>
       : tensor<1312xi8> -> tensor<1x42xi8>
  return %b : tensor<1x42xi8>
}

// -----

func.func @pack(%t: tensor<2x32xi8>) -> tensor<192xi8> {
  // expected-error @+1 {{packs sherry or stq1_0 bytes (sherry.repack makes the tables layout from them)}}
  %p = sherry.pack %t layout<tables, row> : tensor<2x32xi8> -> tensor<192xi8>
  return %p : tensor<192xi8>
}
