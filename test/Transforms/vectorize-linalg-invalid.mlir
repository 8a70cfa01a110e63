// RUN: sherry-opt %s --pass-pipeline='builtin.module(func.func(sherry-vectorize-linalg{vector-width=0}))' -verify-diagnostics

// expected-error @below {{sherry-vectorize-linalg: vector-width must be positive}}
func.func @zero_width() {
  return
}
