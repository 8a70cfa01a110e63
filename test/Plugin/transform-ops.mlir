// REQUIRES: mlir-opt-plugins
// The dialect plugin brings transform.sherry.set_kernel to a stock
// mlir-opt's transform interpreter, as sherry-opt has it.
// RUN: mlir-opt --load-dialect-plugin=%sherry_plugin --transform-interpreter %S/../Dialect/Sherry/TransformOps/set-kernel.mlir -split-input-file -verify-diagnostics | FileCheck %S/../Dialect/Sherry/TransformOps/set-kernel.mlir
