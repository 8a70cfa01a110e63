// RUN: not sherry-opt %s -convert-sherry-to-x86="isa=sse4" 2>&1 | FileCheck %s --check-prefix=ISA
// RUN: not sherry-opt %s -convert-sherry-to-x86="row-block=-1" 2>&1 | FileCheck %s --check-prefix=ROW
// RUN: not sherry-opt %s -convert-sherry-to-x86="strategy=lut" 2>&1 | FileCheck %s --check-prefix=STRATEGY
// RUN: not sherry-opt %s -convert-sherry-to-x86="tile-block=-1" 2>&1 | FileCheck %s --check-prefix=TILE
// Enum and count options: llvm::cl names the option and the bad value.
// STRATEGY: for the --strategy option: Cannot find option named 'lut'!
// RUN: not sherry-opt %s -convert-sherry-to-x86="tables-max-batch=-1" 2>&1 | FileCheck %s --check-prefix=BATCH
// BATCH: for the --tables-max-batch option: '-1' value invalid for uint argument!
// TILE: for the --tile-block option: '-1' value invalid for uint argument!
// ISA: for the --isa option: Cannot find option named 'sse4'!
// RUN: not sherry-opt %s -convert-sherry-to-x86="table-lookup=nibbles" 2>&1 | FileCheck %s --check-prefix=LOOKUP
// RUN: not sherry-opt %s -convert-sherry-to-x86="isa=avx2 table-lookup=words" 2>&1 | FileCheck %s --check-prefix=WORDS
// LOOKUP: for the --table-lookup option: Cannot find option named 'nibbles'!
// WORDS: error: convert-sherry-to-x86: table-lookup=words needs AVX-512 (vpermw), got isa=avx2
// RUN: not sherry-opt %s -convert-sherry-to-x86="table-build=once" 2>&1 | FileCheck %s --check-prefix=BUILD
// RUN: not sherry-opt %s -convert-sherry-to-x86="isa=avx2 table-build=step" 2>&1 | FileCheck %s --check-prefix=BUILDSTEP
// RUN: not sherry-opt %s -convert-sherry-to-x86="table-lookup=bytes table-build=step" 2>&1 | FileCheck %s --check-prefix=BUILDBYTES
// BUILD: for the --table-build option: Cannot find option named 'once'!
// BUILDSTEP: error: convert-sherry-to-x86: table-build=step builds word tables (vpermw): it needs AVX-512 and table-lookup 'auto' or 'words', got isa=avx2
// BUILDBYTES: error: convert-sherry-to-x86: table-build=step builds word tables (vpermw): it needs AVX-512 and table-lookup 'auto' or 'words', got table-lookup=bytes
// ROW: for the --row-block option: '-1' value invalid for uint argument!
func.func @f() {
  return
}
