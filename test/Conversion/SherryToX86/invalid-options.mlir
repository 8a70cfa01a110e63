// RUN: not sherry-opt %s -convert-sherry-to-x86="isa=avx2" 2>&1 | FileCheck %s --check-prefix=ISA
// RUN: not sherry-opt %s -convert-sherry-to-x86="row-block=0" 2>&1 | FileCheck %s --check-prefix=ROW
// ISA: error: convert-sherry-to-x86: unknown isa 'avx2'; expected 'avx512-vnni'
// ROW: error: convert-sherry-to-x86: row-block must be at least 1, got 0
func.func @f() {
  return
}
