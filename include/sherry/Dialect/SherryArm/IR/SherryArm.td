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

#endif // SHERRY_DIALECT_SHERRYARM_IR_SHERRYARM_TD
