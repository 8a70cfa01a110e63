// Options --sherry-to-llvm cannot honour are named in a diagnostic.
// RUN: not sherry-opt %s --sherry-to-llvm="kernel=tables" 2>&1 | FileCheck %s --check-prefix=KERNEL
// RUN: not sherry-opt %s --sherry-to-llvm="threads=-1" 2>&1 | FileCheck %s --check-prefix=THREADS
// RUN: not sherry-opt %s --sherry-to-llvm="batch-block=-1" 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not sherry-opt %s --sherry-to-llvm="row-tile=-2" 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: not sherry-opt %s --sherry-to-llvm="target=sse4" 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not sherry-opt %s --sherry-to-llvm="target=portable strategy=tables" 2>&1 | FileCheck %s --check-prefix=TABLES
// RUN: not sherry-opt %s --sherry-to-llvm="strategy=lut" 2>&1 | FileCheck %s --check-prefix=STRATEGY
// RUN: not sherry-opt %s --sherry-to-llvm="tile-block=-1" 2>&1 | FileCheck %s --check-prefix=TILEBLOCK
// RUN: not sherry-opt %s --sherry-to-llvm="target=host kernel=linalg" 2>&1 | FileCheck %s --check-prefix=LINALG
// RUN: not sherry-opt %s --sherry-to-llvm="no-such-option=1" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not sherry-opt %s --sherry-to-llvm="table-lookup=nibbles" 2>&1 | FileCheck %s --check-prefix=LOOKUP
// RUN: not sherry-opt %s --sherry-to-llvm="target=neon table-lookup=bytes" 2>&1 | FileCheck %s --check-prefix=LOOKUPTARGET
// RUN: not sherry-opt %s --sherry-to-llvm="target=avx2 table-lookup=words" 2>&1 | FileCheck %s --check-prefix=LOOKUPWORDS
// RUN: not sherry-opt %s --sherry-to-llvm="table-build=once" 2>&1 | FileCheck %s --check-prefix=BUILD
// RUN: not sherry-opt %s --sherry-to-llvm="target=avx2 table-build=step" 2>&1 | FileCheck %s --check-prefix=BUILDSTEP
// RUN: not sherry-opt %s --sherry-to-llvm="target=avx512-vnni table-lookup=bytes table-build=step" 2>&1 | FileCheck %s --check-prefix=BUILDBYTES
// RUN: not sherry-opt %s --sherry-to-llvm="table-part-weights=-1" 2>&1 | FileCheck %s --check-prefix=PARTWEIGHTS
// RUN: not sherry-opt %s --sherry-to-llvm="table-bytes=-1" 2>&1 | FileCheck %s --check-prefix=TABLEBYTES
// RUN: not sherry-opt %s --sherry-to-llvm="threads=two" 2>&1 | FileCheck %s --check-prefix=WORD
// RUN: not sherry-opt %s --sherry-to-llvm="work-stealing=maybe" 2>&1 | FileCheck %s --check-prefix=FLAG
// RUN: not sherry-opt %s --sherry-to-llvm="table-bytes=99999999999999999999999" 2>&1 | FileCheck %s --check-prefix=HUGE
// RUN: sherry-opt --help | FileCheck %s --check-prefix=HELP

// KERNEL: error: sherry-to-llvm: unknown kernel 'tables'; expected 'vector' or 'linalg'
// THREADS: error: sherry-to-llvm: threads must be a non-negative integer, got '-1'
// BLOCK: error: sherry-to-llvm: batch-block must be a non-negative integer, got '-1'
// TILE: error: sherry-to-llvm: row-tile must be a non-negative integer, got '-2'
// TARGET: error: sherry-to-llvm: unknown target 'sse4'; expected 'portable', 'avx512-vnni', 'avx512-bw', 'avx2', 'neon-dotprod', 'neon', 'host' or 'module'
// TABLES: error: sherry-to-llvm: strategy=tables needs a target with a table kernel (all but portable), got target=portable
// STRATEGY: error: sherry-to-llvm: unknown strategy 'lut'; expected 'auto', 'tables' or 'decode'
// TILEBLOCK: error: sherry-to-llvm: tile-block must be a non-negative integer, got '-1'
// LINALG: error: sherry-to-llvm: kernel=linalg is the portable reference; it takes no target
// LOOKUP: error: sherry-to-llvm: unknown table-lookup 'nibbles'; expected 'auto', 'words' or 'bytes'
// LOOKUPTARGET: error: sherry-to-llvm: table-lookup chooses between x86 table lookups, got target=neon
// LOOKUPWORDS: error: sherry-to-llvm: table-lookup=words needs AVX-512 (vpermw), got target=avx2
// BUILD: error: sherry-to-llvm: unknown table-build 'once'; expected 'auto', 'call' or 'step'
// BUILDSTEP: error: sherry-to-llvm: table-build=step builds word tables (vpermw): it needs an AVX-512 target and table-lookup 'auto' or 'words', got target=avx2 table-lookup=auto
// BUILDBYTES: error: sherry-to-llvm: table-build=step builds word tables (vpermw): it needs an AVX-512 target and table-lookup 'auto' or 'words', got target=avx512-vnni table-lookup=bytes
// PARTWEIGHTS: error: sherry-to-llvm: table-part-weights must be a non-negative integer, got '-1'
// TABLEBYTES: error: sherry-to-llvm: table-bytes must be a non-negative integer, got '-1'
// UNKNOWN: error: sherry-to-llvm: unknown option 'no-such-option'
// WORD: error: sherry-to-llvm: threads must be a non-negative integer, got 'two'
// FLAG: error: sherry-to-llvm: work-stealing takes true or false, got 'maybe'
// HUGE: error: sherry-to-llvm: table-bytes must be a non-negative integer, got '99999999999999999999999'
// HELP: --sherry-to-llvm
// HELP: --batch-block=
// HELP: --fuse-siblings 
// HELP: --kernel=
// HELP: --row-block=
// HELP: --strategy=
// HELP: --table-build=
// HELP: --table-bytes=
// HELP: --table-lookup=
// HELP: --target=
// HELP: --threads=
// HELP: --tile-block=
func.func @f() {
  return
}
