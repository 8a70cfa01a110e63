//===- SherryBase.td - The sherry dialect ------------------*- tablegen -*-===//

#ifndef SHERRY_DIALECT_SHERRY_IR_SHERRYBASE_TD
#define SHERRY_DIALECT_SHERRY_IR_SHERRYBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Sherry_Dialect : Dialect {
  let name = "sherry";
  let cppNamespace = "::mlir::sherry";
  let summary = "Sparse-ternary (3:4, 1.25-bit) matmuls on packed weights";
  let description = [{
    The `sherry` dialect represents matrix multiplications whose weights are
    stored in the Sherry format (arXiv 2601.07892): ternary values with
    exactly one zero in every group of four, packed into a 4-bit table index
    and a sign bit per group, plus floating-point scales.

    Packed weights are ordinary tensors (or memrefs) of `i8` bytes, one row of
    bytes per output feature, described by a `#sherry.layout` attribute on the
    ops that read them. Keeping the storage in builtin types lets upstream
    bufferization, tiling and the C calling convention of `llvm.emit_c_interface`
    handle packed weights with no special cases: a packed matrix is a pointer
    to bytes.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  // The attributes the passes exchange. The dialect verifies each where it
  // may appear and rejects any other `sherry.` attribute.
  let discardableAttrs = (ins
    // On a function argument: sherry-sparsify packs the float weights it
    // carries (a unit attribute).
    "::mlir::UnitAttr":$weights,
    // On a function argument that sherry-sparsify rewrote: the packed
    // weights' and the scales' `#sherry.layout`.
    "::mlir::Attribute":$packed,
    "::mlir::Attribute":$scales,
    // On an `scf.for` of a kernel: outline it (sherry-outline-kernel-loops).
    "::mlir::UnitAttr":$outline,
    // On an `scf.forall`: split it into this many parts that take work
    // from one another (sherry-forall-work-stealing), a positive integer.
    "::mlir::IntegerAttr":$work_stealing,
    // On an operation in such a loop's body: run it once per part.
    "::mlir::UnitAttr":$per_part,
    // On a `sherry.matmul`: the kernel it is lowered to (#sherry.kernel).
    "::mlir::Attribute":$kernel
  );
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let dependentDialects = ["arith::ArithDialect"];
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class Sherry_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Sherry_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

class Sherry_Op<string mnemonic, list<Trait> traits = []>
    : Op<Sherry_Dialect, mnemonic, traits>;

#endif // SHERRY_DIALECT_SHERRY_IR_SHERRYBASE_TD
