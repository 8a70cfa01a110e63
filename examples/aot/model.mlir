// A small "model" for the AOT example: linear layers on packed Sherry
// weights that the caller passes at run time (the bytes and scales that
// sherry-pack writes, or that sherry::format::pack returns).
// `sherry-compile model.mlir -o model.o --emit-header=model.h` exports each
// function as _mlir_ciface_<name>; main.cpp calls them.

// 3 x 96 activations, a 7 x 96 weight matrix (15 bytes per row), per-row
// scales, int8 activations: bit-exact with sherry::format::matmulInt8.
func.func @small_int8(%x: tensor<3x96xf32>, %w: tensor<7x15xi8>,
                      %s: tensor<7xf32>) -> tensor<3x7xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<3x7xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<3x7xf32>)
            -> tensor<3x7xf32>
  %y = sherry.matmul ins(%x, %w : tensor<3x96xf32>, tensor<7x15xi8>)
         scales(%s : tensor<7xf32>) outs(%init : tensor<3x7xf32>)
         layout<sherry, row> mode<int8> -> tensor<3x7xf32>
  return %y : tensor<3x7xf32>
}

// The same layer with f32 activations (exact mode).
func.func @small_exact(%x: tensor<3x96xf32>, %w: tensor<7x15xi8>,
                       %s: tensor<7xf32>) -> tensor<3x7xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<3x7xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<3x7xf32>)
            -> tensor<3x7xf32>
  %y = sherry.matmul ins(%x, %w : tensor<3x96xf32>, tensor<7x15xi8>)
         scales(%s : tensor<7xf32>) outs(%init : tensor<3x7xf32>)
         layout<sherry, row> mode<exact> -> tensor<3x7xf32>
  return %y : tensor<3x7xf32>
}

// A bigger layer: 5 x 1024 activations, 300 output features (160 bytes per
// row), per-row scales and a bias, int8 activations.
func.func @big_int8(%x: tensor<5x1024xf32>, %w: tensor<300x160xi8>,
                    %s: tensor<300xf32>, %b: tensor<300xf32>)
    -> tensor<5x300xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<5x300xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<5x300xf32>)
            -> tensor<5x300xf32>
  %y = sherry.matmul ins(%x, %w : tensor<5x1024xf32>, tensor<300x160xi8>)
         scales(%s : tensor<300xf32>) bias(%b : tensor<300xf32>)
         outs(%init : tensor<5x300xf32>) layout<sherry, row> mode<int8>
         -> tensor<5x300xf32>
  return %y : tensor<5x300xf32>
}

// The bigger layer in exact mode, with one scale per 128 weights of a row.
func.func @big_exact(%x: tensor<5x1024xf32>, %w: tensor<300x160xi8>,
                     %s: tensor<300x8xf32>) -> tensor<5x300xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<5x300xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<5x300xf32>)
            -> tensor<5x300xf32>
  %y = sherry.matmul ins(%x, %w : tensor<5x1024xf32>, tensor<300x160xi8>)
         scales(%s : tensor<300x8xf32>) outs(%init : tensor<5x300xf32>)
         layout<sherry, group = 128> mode<exact> -> tensor<5x300xf32>
  return %y : tensor<5x300xf32>
}

// Any number of activation rows, one scale for the whole matrix, a bias,
// accumulating into %acc (which the call may overwrite: pass a copy).
func.func @batch_int8(%x: tensor<?x96xf32>, %w: tensor<7x15xi8>,
                      %s: tensor<1xf32>, %b: tensor<7xf32>,
                      %acc: tensor<?x7xf32>) -> tensor<?x7xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<?x96xf32>, tensor<7x15xi8>)
         scales(%s : tensor<1xf32>) bias(%b : tensor<7xf32>)
         outs(%acc : tensor<?x7xf32>) layout<sherry, tensor> mode<int8>
         -> tensor<?x7xf32>
  return %y : tensor<?x7xf32>
}

// The bigger layer on weights loaded at run time in the tables layout
// (lanes order, tiles of 32 rows in blocks of 2: what target=avx2 reads;
// 51200 bytes of codes, then 2 bytes per row counting its negative groups,
// 10 tiles x 32 rows): `sherry-pack convert w.sherry --layout=tables
// --tile-block=2` writes them, sherryMappedWeightsGetData maps them.
// strategy=auto takes them to the activation-table kernel.
func.func @big_tables(%x: tensor<5x1024xf32>, %w: tensor<51840xi8>,
                      %s: tensor<300xf32>, %b: tensor<300xf32>)
    -> tensor<5x300xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<5x300xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<5x300xf32>)
            -> tensor<5x300xf32>
  %y = sherry.matmul ins(%x, %w : tensor<5x1024xf32>, tensor<51840xi8>)
         scales(%s : tensor<300xf32>) bias(%b : tensor<300xf32>)
         outs(%init : tensor<5x300xf32>)
         layout<tables, row, order = lanes, tile_block = 2> mode<int8>
         -> tensor<5x300xf32>
  return %y : tensor<5x300xf32>
}
