//===- KernelOptions.h - The kernel passes' enum options --------*- C++ -*-===//
//
// The values of the kernel passes' options (convert-sherry-to-x86,
// convert-sherry-to-neon), which --sherry-to-llvm also takes.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_CONVERSION_KERNELOPTIONS_H
#define SHERRY_CONVERSION_KERNELOPTIONS_H

namespace mlir::sherry {

/// How sherry.matmul is computed where a target has several kernels.
enum class KernelStrategy { Auto, Tables, Decode };
/// The table lookup of x86 table kernels.
enum class TableLookup { Auto, Words, Bytes };
/// Where the word tables of x86 table kernels come from.
enum class TableBuild { Auto, Call, Step };
/// The instruction sets of convert-sherry-to-x86.
enum class X86Isa { Avx512Vnni, Avx512Bw, Avx2 };
/// The instruction sets of convert-sherry-to-neon.
enum class NeonIsa { NeonDotprod, Neon };

} // namespace mlir::sherry

#endif // SHERRY_CONVERSION_KERNELOPTIONS_H
