// RUN: sherry-opt %s -split-input-file -verify-diagnostics

// The attributes the passes exchange are declared by the dialect and
// verified where they appear; any other `sherry.` attribute is an error.

func.func @unknown() attributes {sherry.fast} {
// expected-error @-1 {{'sherry.fast' is not an attribute of the sherry dialect, which has 'sherry.weights', 'sherry.packed' and 'sherry.scales' (function arguments), 'sherry.outline' (scf.for), 'sherry.work_stealing' (scf.forall), 'sherry.per_part' (an operation in the body of an scf.forall) and 'sherry.kernel' (sherry.matmul)}}
  return
}

// -----

// expected-error @+1 {{'sherry.weights' is an attribute of function arguments, not of operations}}
func.func @weights_on_function() attributes {sherry.weights} {
  return
}

// -----

// expected-error @+1 {{'sherry.weights' on argument 0 must be a unit attribute}}
func.func @weights_not_unit(%w: tensor<4x32xf32> {sherry.weights = 1 : i64}) {
  return
}

// -----

// expected-error @+1 {{'sherry.packed' on argument 0 must be a #sherry.layout}}
func.func @packed_not_layout(%w: tensor<4x5xi8> {sherry.packed = "row"}) {
  return
}

// -----

// expected-error @+1 {{'sherry.outline' on argument 0 is an attribute of operations, not of arguments}}
func.func @outline_on_argument(%w: tensor<4x5xi8> {sherry.outline}) {
  return
}

// -----

// expected-error @+1 {{'sherry.typo' on argument 0 is not an attribute of the sherry dialect}}
func.func @unknown_argument(%w: tensor<4x5xi8> {sherry.typo}) {
  return
}

// -----

func.func @outline_not_for(%a: index) -> index {
  // expected-error @+1 {{'sherry.outline' marks an scf.for, not 'arith.addi'}}
  %b = arith.addi %a, %a {sherry.outline} : index
  return %b : index
}

// -----

func.func @parts_not_integer(%out: memref<7xindex>) {
  // expected-error @+1 {{'sherry.work_stealing' must be a positive integer (the number of parts)}}
  scf.forall (%i) in (7) {
    memref.store %i, %out[%i] : memref<7xindex>
  } {sherry.work_stealing = "two"}
  return
}

// -----

func.func @no_parts(%out: memref<7xindex>) {
  // expected-error @+1 {{'sherry.work_stealing' must be a positive integer (the number of parts)}}
  scf.forall (%i) in (7) {
    memref.store %i, %out[%i] : memref<7xindex>
  } {sherry.work_stealing = 0 : i64}
  return
}

// -----

func.func @parts_not_forall(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{'sherry.work_stealing' marks an scf.forall, not 'scf.for'}}
  scf.for %i = %c0 to %n step %c1 {
  } {sherry.work_stealing = 2 : i64}
  return
}

// -----

func.func @per_part_outside(%a: index) -> index {
  // expected-error @+1 {{'sherry.per_part' marks an operation in the body of an scf.forall}}
  %b = arith.addi %a, %a {sherry.per_part} : index
  return %b : index
}

// -----

func.func @kernel_not_on_matmul(%a: index) -> index {
  // expected-error @+1 {{'sherry.kernel' marks a sherry.matmul, not 'arith.addi'}}
  %b = arith.addi %a, %a {sherry.kernel = #sherry.kernel<tables>} : index
  return %b : index
}

// -----

func.func @kernel_not_an_enum(%x: tensor<1x32xf32>, %w: tensor<4x5xi8>,
                              %s: tensor<4xf32>,
                              %a: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{'sherry.kernel' must be a #sherry.kernel (tables, decode, portable or linalg)}}
  %y = sherry.matmul ins(%x, %w : tensor<1x32xf32>, tensor<4x5xi8>)
         scales(%s : tensor<4xf32>) outs(%a : tensor<1x4xf32>)
         layout<sherry, row> {sherry.kernel = "tables"} -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// expected-error @+1 {{'sherry.kernel' on argument 0 is an attribute of operations, not of arguments}}
func.func @kernel_on_argument(%a: index {sherry.kernel = #sherry.kernel<decode>}) {
  return
}

// -----

// expected-error @+2 {{expected ::mlir::sherry::MatmulKernel to be one of: tables, decode, portable, linalg}}
// expected-error @+1 {{failed to parse Sherry_MatmulKernelAttr parameter 'value'}}
func.func @kernel_unknown(%a: index) attributes {x = #sherry.kernel<fastest>} {
  return
}
