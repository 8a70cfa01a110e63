//===- SherryX86.td - x86 instructions the kernels use -----*- tablegen -*-===//
//
// Thin typed wrappers over one x86 intrinsic each, for the instructions the
// sherry kernels need and upstream x86vector has no op for. They are Pure, so
// bufferization and other passes move them freely, and the LLVM lowering
// (--convert-to-llvm, lib/Conversion/IntrinsicsToLLVM) turns each into its
// LLVM intrinsic call.
//
//===----------------------------------------------------------------------===//

#ifndef SHERRY_DIALECT_SHERRYX86_IR_SHERRYX86_TD
#define SHERRY_DIALECT_SHERRYX86_IR_SHERRYX86_TD

include "mlir/Dialect/LLVMIR/LLVMInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def SherryX86_Dialect : Dialect {
  let name = "sherry_x86";
  let cppNamespace = "::mlir::sherry::x86";
  let summary = "x86 SIMD instructions of the sherry kernels";
  let description = [{
    Each op is one x86 instruction on builtin vectors, named after it, that
    the sherry micro-kernels emit and the upstream `x86vector` dialect does
    not provide. Generated code with these ops needs the CPU features each
    op names.
  }];
}

class SherryX86_IntrOp<string mnemonic, string intrinsic,
                       list<Trait> traits = []>
    : Op<SherryX86_Dialect, mnemonic, !listconcat(traits, [Pure,
          DeclareOpInterfaceMethods<OneToOneIntrinsicOpInterface>])> {
  code intrinsicName = intrinsic;
  let extraClassDefinition = [{
    std::string $cppClass::getIntrinsicName() {
      return "}] # intrinsic # [{";
    }
  }];
}

def SherryX86_MultishiftOp
    : SherryX86_IntrOp<"avx512.vpmultishiftqb",
                       "llvm.x86.avx512.pmultishift.qb.512",
                       [AllTypesMatch<["control", "data", "result"]>]> {
  let summary = "vpmultishiftqb: 8-bit fields at any bit offset (AVX512_VBMI)";
  let description = [{
    Byte `i` of the result is the 8 bits of quadword `i / 8` of `data`
    starting at bit `control[i] % 64`, wrapping around the quadword.

    ```mlir
    %f = sherry_x86.avx512.vpmultishiftqb %control, %data : vector<64xi8>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[64], [I8]>:$control,
                       VectorOfLengthAndType<[64], [I8]>:$data);
  let results = (outs VectorOfLengthAndType<[64], [I8]>:$result);
  let assemblyFormat = "$control `,` $data attr-dict `:` type($result)";
}

def SherryX86_Permt2bOp
    : SherryX86_IntrOp<"avx512.vpermt2b",
                       "llvm.x86.avx512.vpermi2var.qi.512",
                       [AllTypesMatch<["low", "index", "high", "result"]>]> {
  let summary = "vpermt2b: a 128-byte table lookup (AVX512_VBMI)";
  let description = [{
    Byte `i` of the result is byte `index[i] % 64` of `low` where bit 6 of
    `index[i]` is clear, of `high` where it is set; bit 7 is ignored.

    ```mlir
    %v = sherry_x86.avx512.vpermt2b %low, %index, %high : vector<64xi8>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[64], [I8]>:$low,
                       VectorOfLengthAndType<[64], [I8]>:$index,
                       VectorOfLengthAndType<[64], [I8]>:$high);
  let results = (outs VectorOfLengthAndType<[64], [I8]>:$result);
  let assemblyFormat =
      "$low `,` $index `,` $high attr-dict `:` type($result)";
}

def SherryX86_DpbusdOp
    : SherryX86_IntrOp<"avx512.vpdpbusd", "llvm.x86.avx512.vpdpbusd.512",
                       [AllTypesMatch<["acc", "result"]>,
                        AllTypesMatch<["a", "b"]>]> {
  let summary = "vpdpbusd: unsigned by signed byte dot products (AVX512_VNNI)";
  let description = [{
    Lane `j` of the result is `acc[j]` plus the sum over `p` in 0..3 of
    `zext(a[4j + p]) * sext(b[4j + p])`, wrapping in i32 (no saturation).

    ```mlir
    %r = sherry_x86.avx512.vpdpbusd %acc, %a, %b : vector<16xi32>, vector<64xi8>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[16], [I32]>:$acc,
                       VectorOfLengthAndType<[64], [I8]>:$a,
                       VectorOfLengthAndType<[64], [I8]>:$b);
  let results = (outs VectorOfLengthAndType<[16], [I32]>:$result);
  let assemblyFormat =
      "$acc `,` $a `,` $b attr-dict `:` type($result) `,` type($a)";
}

def SherryX86_PermbOp
    : SherryX86_IntrOp<"avx512.vpermb", "llvm.x86.avx512.permvar.qi.512",
                       [AllTypesMatch<["table", "index", "result"]>]> {
  let summary = "vpermb: a 64-byte table lookup (AVX512_VBMI)";
  let description = [{
    Byte `i` of the result is byte `index[i] % 64` of `table`.

    ```mlir
    %v = sherry_x86.avx512.vpermb %table, %index : vector<64xi8>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[64], [I8]>:$table,
                       VectorOfLengthAndType<[64], [I8]>:$index);
  let results = (outs VectorOfLengthAndType<[64], [I8]>:$result);
  let assemblyFormat = "$table `,` $index attr-dict `:` type($result)";
}

def SherryX86_PermwOp
    : SherryX86_IntrOp<"avx512.vpermw", "llvm.x86.avx512.permvar.hi.512",
                       [AllTypesMatch<["table", "index", "result"]>]> {
  let summary = "vpermw: a 32-word table lookup (AVX512BW)";
  let description = [{
    Word `i` of the result is word `index[i] % 32` of `table`: only the low
    five bits of an index count.

    ```mlir
    %v = sherry_x86.avx512.vpermw %table, %index : vector<32xi16>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[32], [I16]>:$table,
                       VectorOfLengthAndType<[32], [I16]>:$index);
  let results = (outs VectorOfLengthAndType<[32], [I16]>:$result);
  let assemblyFormat = "$table `,` $index attr-dict `:` type($result)";
}

def SherryX86_Maddubsw512Op
    : SherryX86_IntrOp<"avx512.vpmaddubsw", "llvm.x86.avx512.pmaddubs.w.512",
                       [AllTypesMatch<["a", "b"]>]> {
  let summary = "vpmaddubsw: unsigned by signed byte pairs to i16 (AVX512BW)";
  let description = [{
    Lane `i` of the result is `zext(a[2i]) * sext(b[2i]) + zext(a[2i + 1]) *
    sext(b[2i + 1])`, saturated to i16.

    ```mlir
    %r = sherry_x86.avx512.vpmaddubsw %a, %b : vector<64xi8> -> vector<32xi16>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[64], [I8]>:$a,
                       VectorOfLengthAndType<[64], [I8]>:$b);
  let results = (outs VectorOfLengthAndType<[32], [I16]>:$result);
  let assemblyFormat = "$a `,` $b attr-dict `:` type($a) `->` type($result)";
}

def SherryX86_Pmaddwd512Op
    : SherryX86_IntrOp<"avx512.vpmaddwd", "llvm.x86.avx512.pmaddw.d.512",
                       [AllTypesMatch<["a", "b"]>]> {
  let summary = "vpmaddwd: signed i16 pairs to i32 (AVX512BW)";
  let description = [{
    Lane `i` of the result is `sext(a[2i]) * sext(b[2i]) + sext(a[2i + 1]) *
    sext(b[2i + 1])`, wrapping in i32.

    ```mlir
    %r = sherry_x86.avx512.vpmaddwd %a, %b : vector<32xi16> -> vector<16xi32>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[32], [I16]>:$a,
                       VectorOfLengthAndType<[32], [I16]>:$b);
  let results = (outs VectorOfLengthAndType<[16], [I32]>:$result);
  let assemblyFormat = "$a `,` $b attr-dict `:` type($a) `->` type($result)";
}

def SherryX86_Pshufb512Op
    : SherryX86_IntrOp<"avx512.vpshufb", "llvm.x86.avx512.pshuf.b.512",
                       [AllTypesMatch<["table", "index", "result"]>]> {
  let summary = "vpshufb: a 16-byte table lookup in each 128-bit lane "
                "(AVX512BW)";
  let description = [{
    Byte `i` of the result is 0 where bit 7 of `index[i]` is set, else byte
    `index[i] % 16` of the 128-bit lane of `table` that holds byte `i`.

    ```mlir
    %v = sherry_x86.avx512.vpshufb %table, %index : vector<64xi8>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[64], [I8]>:$table,
                       VectorOfLengthAndType<[64], [I8]>:$index);
  let results = (outs VectorOfLengthAndType<[64], [I8]>:$result);
  let assemblyFormat = "$table `,` $index attr-dict `:` type($result)";
}

def SherryX86_Pshufb256Op
    : SherryX86_IntrOp<"avx2.vpshufb", "llvm.x86.avx2.pshuf.b",
                       [AllTypesMatch<["table", "index", "result"]>]> {
  let summary = "vpshufb: a 16-byte table lookup in each 128-bit lane (AVX2)";
  let description = [{
    Byte `i` of the result is 0 where bit 7 of `index[i]` is set, else byte
    `index[i] % 16` of the 128-bit lane of `table` that holds byte `i`.

    ```mlir
    %v = sherry_x86.avx2.vpshufb %table, %index : vector<32xi8>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[32], [I8]>:$table,
                       VectorOfLengthAndType<[32], [I8]>:$index);
  let results = (outs VectorOfLengthAndType<[32], [I8]>:$result);
  let assemblyFormat = "$table `,` $index attr-dict `:` type($result)";
}

def SherryX86_Maddubsw256Op
    : SherryX86_IntrOp<"avx2.vpmaddubsw", "llvm.x86.avx2.pmadd.ub.sw",
                       [AllTypesMatch<["a", "b"]>]> {
  let summary = "vpmaddubsw: unsigned by signed byte pairs to i16 (AVX2)";
  let description = [{
    Lane `i` of the result is `zext(a[2i]) * sext(b[2i]) + zext(a[2i + 1]) *
    sext(b[2i + 1])`, saturated to i16.

    ```mlir
    %r = sherry_x86.avx2.vpmaddubsw %a, %b : vector<32xi8> -> vector<16xi16>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[32], [I8]>:$a,
                       VectorOfLengthAndType<[32], [I8]>:$b);
  let results = (outs VectorOfLengthAndType<[16], [I16]>:$result);
  let assemblyFormat = "$a `,` $b attr-dict `:` type($a) `->` type($result)";
}

def SherryX86_Pmaddwd256Op
    : SherryX86_IntrOp<"avx2.vpmaddwd", "llvm.x86.avx2.pmadd.wd",
                       [AllTypesMatch<["a", "b"]>]> {
  let summary = "vpmaddwd: signed i16 pairs to i32 (AVX2)";
  let description = [{
    Lane `i` of the result is `sext(a[2i]) * sext(b[2i]) + sext(a[2i + 1]) *
    sext(b[2i + 1])`, wrapping in i32.

    ```mlir
    %r = sherry_x86.avx2.vpmaddwd %a, %b : vector<16xi16> -> vector<8xi32>
    ```
  }];
  let arguments = (ins VectorOfLengthAndType<[16], [I16]>:$a,
                       VectorOfLengthAndType<[16], [I16]>:$b);
  let results = (outs VectorOfLengthAndType<[8], [I32]>:$result);
  let assemblyFormat = "$a `,` $b attr-dict `:` type($a) `->` type($result)";
}

#endif // SHERRY_DIALECT_SHERRYX86_IR_SHERRYX86_TD
