//===- SherryArm.td - AArch64 instructions the kernels use -*- tablegen -*-===//
//
// Thin typed wrappers over one AArch64 intrinsic each, for the instructions
// the sherry kernels need and upstream arm_neon has no op for. They are
// Pure, and the LLVM lowering (--convert-to-llvm,
// lib/Conversion/IntrinsicsToLLVM) turns each into its LLVM intrinsic call.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_DIALECT_SHERRYARM_IR_SHERRYARM_TD
#define SHERRY_DIALECT_SHERRYARM_IR_SHERRYARM_TD

include "mlir/Dialect/LLVMIR/LLVMInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def SherryArm_Dialect : Dialect {
  let name = "sherry_arm";
  let cppNamespace = "::mlir::sherry::arm";
  let summary = "AArch64 SIMD instructions of the sherry kernels";
  let description = [{
    Each op is one AArch64 instruction on builtin vectors, named after it,
    that the sherry kernels emit and the upstream `arm_neon` dialect does
    not provide. Generated code with these ops needs the CPU features each
    op names.
  }];
}

class SherryArm_IntrOp<string mnemonic, string intrinsic,
                       list<Trait> traits = []>
    : Op<SherryArm_Dialect, mnemonic, !listconcat(traits, [Pure,
          DeclareOpInterfaceMethods<OneToOneIntrinsicOpInterface>])> {
  let extraClassDefinition = [{
    std::string $cppClass::getIntrinsicName() {
      return "}] # intrinsic # [{";
    }
  }];
}

def SherryArm_Tbl1Op
    : SherryArm_IntrOp<"neon.tbl1", "llvm.aarch64.neon.tbl1",
                       [AllTypesMatch<["table", "index", "result"]>]> {
  let summary = "tbl: a 16-byte table lookup (NEON, Armv8.0)";
  let description = [{
    Byte `i` of the result is byte `index[i]` of `table` where `index[i]`
    is below 16, else 0.

    ```mlir
    %v = sherry_arm.neon.tbl1 %table, %index : vector<16xi8>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[16], [I8]>:$table,
                       VectorOfLengthAndType<[16], [I8]>:$index);
  let results = (outs VectorOfLengthAndType<[16], [I8]>:$result);
  let assemblyFormat = "$table `,` $index attr-dict `:` type($result)";
}

def SherryArm_Tbl2Op
    : SherryArm_IntrOp<"neon.tbl2", "llvm.aarch64.neon.tbl2",
                       [AllTypesMatch<["table0", "table1", "index",
                                       "result"]>]> {
  let summary = "tbl: a 32-byte table lookup in two registers (NEON, "
                "Armv8.0)";
  let description = [{
    Byte `i` of the result is byte `index[i]` of the 32 bytes `table0`,
    `table1` where `index[i]` is below 32, else 0. It costs what a one
    register `tbl` costs on Neoverse N1 and V2.

    ```mlir
    %v = sherry_arm.neon.tbl2 %t0, %t1, %index : vector<16xi8>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[16], [I8]>:$table0,
                       VectorOfLengthAndType<[16], [I8]>:$table1,
                       VectorOfLengthAndType<[16], [I8]>:$index);
  let results = (outs VectorOfLengthAndType<[16], [I8]>:$result);
  let assemblyFormat =
      "$table0 `,` $table1 `,` $index attr-dict `:` type($result)";
}

def SherryArm_SaddlpOp
    : SherryArm_IntrOp<"neon.saddlp", "llvm.aarch64.neon.saddlp"> {
  let summary = "saddlp: signed add long pairwise, i16 to i32 (NEON, "
                "Armv8.0)";
  let description = [{
    Lane `i` of the result is the sum of lanes `2i` and `2i + 1` of
    `source`, sign extended to i32. An `arith.addi` of the result into an
    accumulator becomes one `sadalp`.

    ```mlir
    %s = sherry_arm.neon.saddlp %v : vector<8xi16> to vector<4xi32>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[8], [I16]>:$source);
  let results = (outs VectorOfLengthAndType<[4], [I32]>:$result);
  let assemblyFormat =
      "$source attr-dict `:` type($source) `to` type($result)";
}

#endif // SHERRY_DIALECT_SHERRYARM_IR_SHERRYARM_TD
