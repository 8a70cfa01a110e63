"""sherry.compile: --sherry-to-llvm, the JIT and the calling convention."""

import os
import subprocess

import numpy as np
import pytest

import reference
import sherry

# (layout attribute, quantize keywords, K)
LAYOUTS = [
    ("<sherry, row>", {"granularity": "row"}, 96),
    ("<sherry, tensor>", {"granularity": "tensor"}, 256),
    ("<sherry, group = 32>", {"group_size": 32}, 256),
    ("<sherry, group = 128, scale_type = f16>",
     {"group_size": 128, "scale_type": "f16"}, 256),
    ("<stq1_0>", {"layout": "stq1_0"}, 512),
]


def _hex(array):
    return '"0x%s"' % np.ascontiguousarray(array).tobytes().hex().upper()


def _tensor(shape, element):
    return "tensor<%sx%s>" % ("x".join(map(str, shape)), element)


def matmul_module(packed, n, layout, mode, bias):
    """@mm takes everything as arguments; @folded computes the same
    sherry.matmul on constants, folded at compile time by the format
    library's reference matmul."""
    m, k = packed.shape
    stq = packed.layout == "stq1_0"
    X, Y, B = _tensor((n, k), "f32"), _tensor((n, m), "f32"), \
        _tensor((m,), "f32")
    P = _tensor(packed.data.shape, "i8")
    S = _tensor(packed.scales.shape, packed.scale_type)
    scales = "" if stq else " scales(%%s : %s)" % S
    bias_text = " bias(%%b : %s)" % B if bias else ""
    op = ("sherry.matmul ins(%%x, %%p : %s, %s)%s%s outs(%%i : %s) "
          "layout%s mode<%s> -> %s" % (X, P, scales, bias_text, Y, layout,
                                       mode, Y))
    args = ["%%x: %s" % X, "%%p: %s" % P]
    if not stq:
        args.append("%%s: %s" % S)
    if bias:
        args.append("%%b: %s" % B)
    args.append("%%i: %s" % Y)
    return args, op, (X, P, S, B, Y)


def build(packed, x, init, bias, layout, mode):
    n = x.shape[0]
    args, op, (X, P, S, B, Y) = matmul_module(packed, n, layout, mode,
                                              bias is not None)
    stq = packed.layout == "stq1_0"
    consts = [
        "%%x = arith.constant dense<%s> : %s" % (_hex(x), X),
        "%%p = arith.constant dense<%s> : %s"
        % (_hex(packed.data), P),
        "%%i = arith.constant dense<%s> : %s" % (_hex(init), Y)]
    if not stq:
        consts.append("%%s = arith.constant dense<%s> : %s"
                      % (_hex(packed.scales), S))
    if bias is not None:
        consts.append("%%b = arith.constant dense<%s> : %s"
                      % (_hex(bias), B))
    return """
func.func @mm(%s) -> %s {
  %%y = %s
  return %%y : %s
}
func.func @folded() -> %s {
  %s
  %%y = %s
  return %%y : %s
}
""" % (", ".join(args), Y, op, Y, Y, "\n  ".join(consts), op, Y)


def _inputs(rng, m, k, n=3):
    w = rng.normal(0, 1, size=(m, k)).astype(np.float32)
    x = rng.normal(0, 1, size=(n, k)).astype(np.float32)
    x[0, :] = 3.0           # all +127: int32 sums far past int16
    x[2, 5] = 40.0          # an outlier squeezes the rest of the row
    init = rng.normal(0, 1, size=(n, m)).astype(np.float32)
    bias = rng.normal(0, 1, size=(m,)).astype(np.float32)
    return w, x, init, bias


def _call(module, packed, x, init, bias):
    args = [x, packed.data]
    if packed.layout != "stq1_0":
        args.append(packed.scales)
    if bias is not None:
        args.append(bias)
    args.append(init)
    return module.mm(*args)


@pytest.mark.parametrize("layout,kwargs,k", LAYOUTS, ids=lambda v: str(v))
@pytest.mark.parametrize("with_bias", [False, True])
def test_int8_bit_exact(layout, kwargs, k, with_bias, rng):
    w, x, init, bias = _inputs(rng, 7, k)
    bias = bias if with_bias else None
    packed = sherry.quantize(w, **kwargs)
    module = sherry.compile(build(packed, x, init, bias, layout, "int8"))
    init_before = init.copy()
    y = _call(module, packed, x, init, bias)
    assert y.dtype == np.float32 and y.shape == (3, 7)
    # Against an independent numpy reading of docs/format.md section 7 ...
    np.testing.assert_array_equal(
        y, reference.matmul_reference(x, packed, "int8", init, bias))
    # ... and against the op folded on constants by the format library.
    np.testing.assert_array_equal(y, module.folded())
    # Tensor arguments keep value semantics: the accumulator is untouched.
    np.testing.assert_array_equal(init, init_before)


@pytest.mark.parametrize("layout,kwargs,k", LAYOUTS, ids=lambda v: str(v))
def test_exact_mode(layout, kwargs, k, rng):
    w, x, init, bias = _inputs(rng, 7, k)
    packed = sherry.quantize(w, **kwargs)
    module = sherry.compile(build(packed, x, init, bias, layout, "exact"))
    y = _call(module, packed, x, init, bias)
    expected = reference.matmul_reference(x, packed, "exact", init, bias)
    assert np.all(np.abs(y - expected) <= 1e-4 * (1 + np.abs(expected)))
    folded = module.folded()
    assert np.all(np.abs(y - folded) <= 1e-4 * (1 + np.abs(folded)))


def test_pipeline_options(rng):
    w, x, init, _ = _inputs(rng, 7, 256)
    packed = sherry.quantize(w, group_size=32)
    text = build(packed, x, init, None, "<sherry, group = 32>", "int8")
    plain = _call(sherry.compile(text), packed, x, init, None)
    tiled = _call(sherry.compile(text, "row-tile=4 batch-tile=2"), packed, x,
                  init, None)
    unopt = _call(sherry.compile(text, "fold-constants=false", opt_level=0),
                  packed, x, init, None)
    np.testing.assert_array_equal(plain, tiled)
    np.testing.assert_array_equal(plain, unopt)
    assert "llvm.func @mm" in sherry.lower_to_llvm(text)


DYNAMIC_LINEAR = """
func.func @linear(%x: tensor<?x64xf32>, %w: tensor<16x10xi8>,
                  %s: tensor<16xf32>) -> tensor<?x16xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?x16xf32>
  %zero = arith.constant 0.0 : f32
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x16xf32>)
           -> tensor<?x16xf32>
  %y = sherry.matmul ins(%x, %w : tensor<?x64xf32>, tensor<16x10xi8>)
         scales(%s : tensor<16xf32>) outs(%acc : tensor<?x16xf32>)
         layout<sherry, row> mode<int8> -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}"""


def test_dynamic_batch(rng):
    w = rng.normal(size=(16, 64)).astype(np.float32)
    packed = sherry.quantize(w)
    module = sherry.compile(DYNAMIC_LINEAR)
    fn = module.linear
    assert fn.inputs[0].shape == (None, 64)
    assert fn.signature.startswith("linear(tensor<?x64xf32>")
    for n in (1, 5):
        x = rng.normal(size=(n, 64)).astype(np.float32)
        y = fn(x, packed.data, packed.scales)
        assert y.shape == (n, 16)
        np.testing.assert_array_equal(
            y, reference.matmul_reference(x, packed, "int8"))


CONVENTION = """
func.func @axpy(%a: f32, %x: memref<?xf32>, %y: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %x, %c0 : memref<?xf32>
  scf.for %i = %c0 to %n step %c1 {
    %xi = memref.load %x[%i] : memref<?xf32>
    %yi = memref.load %y[%i] : memref<?xf32>
    %p = arith.mulf %a, %xi : f32
    %s = arith.addf %p, %yi : f32
    memref.store %s, %y[%i] : memref<?xf32>
  }
  return
}
func.func @row_sums(%x: tensor<?x8xf32>) -> (tensor<?xf32>, index) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>)
            -> tensor<?xf32>
  %r = linalg.reduce ins(%x : tensor<?x8xf32>) outs(%init : tensor<?xf32>)
         dimensions = [1]
         (%in: f32, %acc: f32) {
           %s = arith.addf %in, %acc : f32
           linalg.yield %s : f32
         }
  return %r, %n : tensor<?xf32>, index
}
func.func @dot(%a: tensor<16xi32>, %b: tensor<16xi32>) -> i32 {
  %z = arith.constant dense<0> : tensor<i32>
  %d = linalg.dot ins(%a, %b : tensor<16xi32>, tensor<16xi32>)
         outs(%z : tensor<i32>) -> tensor<i32>
  %r = tensor.extract %d[] : tensor<i32>
  return %r : i32
}
func.func @twice(%a: f16, %flag: i1) -> (f16, i1) {
  %r = arith.addf %a, %a : f16
  %t = arith.constant true
  %n = arith.xori %flag, %t : i1
  return %r, %n : f16, i1
}
func.func @add_i8(%a: i8, %b: i8) -> i8 {
  %r = arith.addi %a, %b : i8
  return %r : i8
}
func.func @identity(%x: tensor<2x3xi8>) -> tensor<2x3xi8> {
  return %x : tensor<2x3xi8>
}
func.func @constant() -> tensor<4xf32> {
  %c = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  return %c : tensor<4xf32>
}
func.func private @helper() -> ()
"""


@pytest.fixture(scope="module")
def convention():
    return sherry.compile(CONVENTION)


def test_calls_from_several_threads(rng):
    """Each thread's calls reuse their own descriptors: calls running at
    once (ctypes releases the GIL) never see each other's arguments, and
    neither do bound weights of one function."""
    import threading
    w = [rng.normal(size=(16, 64)).astype(np.float32) for _ in range(2)]
    packed = [sherry.quantize(m) for m in w]
    module = sherry.compile(DYNAMIC_LINEAR)
    bound = [module.linear._bind(p.data, p.scales) for p in packed]
    errors = []

    def work(t):
        local = np.random.default_rng(t)
        try:
            for i in range(200):
                n = 1 + (i + t) % 7
                x = local.normal(size=(n, 64)).astype(np.float32)
                p = packed[(i + t) % 2]
                want = reference.matmul_reference(x, p, "int8")
                got = (bound[(i + t) % 2](x) if i % 2
                       else module.linear(x, p.data, p.scales))
                np.testing.assert_array_equal(got, want)
        except Exception as e:  # reported below, in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_memref_destination_passing(convention):
    x = np.arange(5, dtype=np.float32)
    y = np.ones(5, dtype=np.float32)
    assert convention.axpy(2.0, x, y) is None
    np.testing.assert_array_equal(y, 1 + 2 * x)
    np.testing.assert_array_equal(x, np.arange(5, dtype=np.float32))


def test_results(convention):
    x = np.arange(24, dtype=np.float32).reshape(3, 8)
    sums, n = convention.row_sums(x)
    np.testing.assert_array_equal(sums, x.sum(axis=1))
    assert n == 3
    a = np.arange(16, dtype=np.int32)
    assert convention.dot(a, a[::-1]) == int(np.dot(a, a[::-1]))
    # A list converts for a tensor argument.
    assert convention.dot(list(range(16)), [1] * 16) == 120
    assert convention.twice(1.5, False) == (3.0, True)
    assert convention.add_i8(100, 27) == 127
    assert convention.add_i8(100, 28) == -128
    ids = np.array([[1, -2, 3], [4, 5, -128]], dtype=np.int8)
    out = convention.identity(ids)
    np.testing.assert_array_equal(out, ids)
    out[0, 0] = 99            # a copy, not the argument's buffer
    assert ids[0, 0] == 1
    # uint8 bytes pass as i8 bit for bit.
    np.testing.assert_array_equal(
        convention.identity(ids.view(np.uint8)), ids)
    for _ in range(3):        # a constant is returned, never freed
        np.testing.assert_array_equal(convention.constant(),
                                      [1.0, 2.0, 3.0, 4.0])


def test_functions(convention):
    assert set(convention.functions) == {
        "axpy", "row_sums", "dot", "twice", "add_i8", "identity",
        "constant"}
    assert "row_sums" in dir(convention)
    assert convention["dot"] is convention.dot
    with pytest.raises(AttributeError, match="no public function 'helper'"):
        convention.helper


def test_call_errors(convention):
    x = np.zeros(5, np.float32)
    with pytest.raises(TypeError, match="takes 3 arguments"):
        convention.axpy(1.0, x)
    with pytest.raises(TypeError, match="needs a numpy array"):
        convention.axpy(1.0, [0.0] * 5, x)
    with pytest.raises(TypeError, match="float32"):
        convention.axpy(1.0, x, np.zeros(5, np.float64))
    with pytest.raises(ValueError, match="C-contiguous"):
        convention.axpy(1.0, x, np.zeros(10, np.float32)[::2])
    with pytest.raises(ValueError, match=r"expected shape \(16\)"):
        convention.dot(np.zeros(15, np.int32), np.zeros(16, np.int32))
    with pytest.raises(ValueError, match=r"expected shape \(\?, 8\)"):
        convention.row_sums(np.zeros((3, 7), np.float32))
    with pytest.raises(TypeError, match="needs integers"):
        convention.dot(np.zeros(16, np.float32), np.zeros(16, np.int32))
    with pytest.raises(OverflowError, match="300 does not fit i8"):
        convention.add_i8(300, 1)


def test_bad_ir():
    with pytest.raises(sherry.CompilerError,
                       match=r"input:2:\d+: error: .*") as info:
        sherry.compile("func.func @f(%x: f32) -> f32 {\n  return %y : f32\n}")
    assert "undeclared SSA value" in str(info.value)
    with pytest.raises(sherry.CompilerError, match="sherry.matmul"):
        sherry.compile("""
func.func @bad(%x: tensor<1x256xf32>, %w: tensor<4x9xi8>, %s: tensor<4xf32>,
               %acc: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<1x256xf32>, tensor<4x9xi8>)
         scales(%s : tensor<4xf32>) outs(%acc : tensor<1x4xf32>)
         layout<sherry, row> -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}""")
    with pytest.raises(sherry.CompilerError, match="no-such-option"):
        sherry.compile("func.func @f() { return }", "no-such-option=1")
    with pytest.raises(sherry.CompilerError, match="optimization level"):
        sherry.compile("func.func @f() { return }", opt_level=7)
    with pytest.raises(sherry.CompilerError, match="does not exist"):
        sherry.compile("func.func @f() { return }",
                       shared_libs=["/nonexistent/libfoo.so"])


def test_one_copy_of_mlir():
    # libSherryCAPI.so carries MLIR either from libMLIR.so
    # (SHERRY_CAPI_SHARED_MLIR, the default where the install has it) or as
    # one static copy, never both: a second MLIR would have TypeIDs and
    # registries that are not the library's. LLVM is always libLLVM.so.
    bindir = "/usr/lib/llvm-22/bin"
    path = sherry.library_path()
    needed = subprocess.run([f"{bindir}/llvm-readelf", "--needed-libs", path],
                            check=True, capture_output=True,
                            text=True).stdout
    symbols = subprocess.run([f"{bindir}/llvm-nm", path], check=True,
                             capture_output=True, text=True).stdout
    context_ctor = [line.split()[-2] for line in symbols.splitlines()
                    if line.endswith("_ZN4mlir11MLIRContextC1ENS0_9ThreadingE")]
    assert "libLLVM.so" in needed
    if "libMLIR.so" in needed:
        assert context_ctor == ["U"]
        # Without its own MLIR the library is a few MB, not about 100.
        assert os.path.getsize(path) < 20 << 20
    else:
        assert context_ctor and context_ctor[0] in "tT"


@pytest.mark.parametrize("options", [
    "target=bogus", "row-tile=-2", "strategy=bogus", "kernel=bogus",
    "threads=-3", "kernel=linalg target=avx2", "threads=two",
    "fold-constants=maybe", "no-such-option=1"])
def test_bad_options_rejected_as_sherry_opt_rejects_them(options):
    # One parse-and-verify behind every entry point: the C API (and so
    # Python) rejects what sherry-opt rejects, with the same message.
    sherry_opt = os.path.join(os.path.dirname(sherry.library_path()),
                              os.pardir, "bin", "sherry-opt")
    tool = subprocess.run([sherry_opt, "--sherry-to-llvm=" + options, "-"],
                          input="", capture_output=True, text=True)
    assert tool.returncode == 1
    message = tool.stderr.strip().split("error: ", 1)[1]
    assert message.startswith("sherry-to-llvm: ")
    with pytest.raises(sherry.CompilerError) as info:
        sherry.compile("func.func @f() { return }", options)
    assert str(info.value) == message
    with pytest.raises(sherry.CompilerError) as info:
        sherry.lower_to_llvm("func.func @f() { return }", options)
    assert str(info.value) == message


DYNAMIC_ROWS = """
func.func @mm(%x: tensor<?x256xf32>, %w: tensor<64x40xi8>,
              %s: tensor<64xf32>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<?x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc : tensor<?x64xf32>)
         layout<sherry, row> mode<int8> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
"""


@pytest.mark.parametrize("options", ["", "target=host", "target=host threads=2",
                                     "kernel=linalg"])
def test_disagreeing_sizes_raise_instead_of_corrupting_memory(options):
    # x and the accumulator with dynamic rows: the compiled code checks that
    # they agree; a call where they do not raises, naming the arguments, and
    # touches nothing out of bounds (64 rows of x once overran the heap).
    rng = np.random.default_rng(7)
    p = sherry.quantize(rng.normal(size=(64, 256)).astype(np.float32))
    module = sherry.compile(DYNAMIC_ROWS, options)
    acc = np.zeros((1, 64), np.float32)
    for rows in (2, 64):
        x = rng.normal(size=(rows, 256)).astype(np.float32)
        with pytest.raises(sherry.RuntimeCheckError) as info:
            module.mm(x, p.data, p.scales, acc)
        assert str(info.value) == (
            "@mm: sherry.matmul at input:4:8: x (argument 0) has %d rows but "
            "the accumulator (argument 3) has 1; the matmul computed nothing"
            % rows)
        assert isinstance(info.value, ValueError)
    # Sizes that agree: bit-exact as ever.
    x = rng.normal(size=(1, 256)).astype(np.float32)
    y = module.mm(x, p.data, p.scales, acc)
    assert np.array_equal(y, reference.matmul_reference(x, p, "int8", acc))


def test_runtime_checks_can_be_turned_off():
    text = sherry.lower_to_llvm(DYNAMIC_ROWS, "runtime-checks=false")
    assert "sherry_runtime_error" not in text
    assert "sherry_runtime_error" in sherry.lower_to_llvm(DYNAMIC_ROWS)


def test_crash_in_a_call_is_an_error_not_the_end_of_the_process():
    module = sherry.compile("""
func.func @div(%a: i32, %b: i32) -> i32 {
  %q = arith.divsi %a, %b : i32
  return %q : i32
}""")
    with pytest.raises(sherry.CompilerError,
                       match=r"^internal error: signal 8 \(SIGFPE\) .*while "
                             r"running function 'div'"):
        module.div(1, 0)
    assert module.div(7, 2) == 3


def test_crash_in_the_parser_is_an_error_not_the_end_of_the_process():
    # linalg.transpose's parser (upstream MLIR, LLVM 22) uses a null
    # attribute after a malformed permutation and segfaults.
    for permutation in ("[1,@0]", "[1,!0]", "x"):
        with pytest.raises(sherry.CompilerError) as info:
            sherry.compile("""
func.func @f(%w: tensor<2x3xf32>, %e: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %r = linalg.transpose ins(%w : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>)
         permutation = PERMUTATION
  return %r : tensor<3x2xf32>
}""".replace("PERMUTATION", permutation))
        message = str(info.value)
        assert message.startswith("internal error: signal 11 (SIGSEGV)")
        assert "while parsing the module" in message
        assert "\ninput:4:" in message and ": error: " in message
    assert sherry.compile(
        "func.func @g(%a: f32) -> f32 { return %a : f32 }").g(2.5) == 2.5


def test_target_this_cpu_lacks_is_refused_before_compiling():
    with pytest.raises(sherry.CompilerError,
                       match="^target=neon-dotprod is AArch64 code and this "
                             "CPU is x86_64: the JIT runs code on this CPU"):
        sherry.compile(DYNAMIC_ROWS, "target=neon-dotprod")
    # Lowering alone (no code runs) takes any target.
    assert "arm_neon.intr.sdot" in sherry.lower_to_llvm(
        DYNAMIC_ROWS.replace("?x256", "4x256").replace("?x64", "4x64"),
        "target=neon-dotprod")
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    if "avx512vbmi" not in flags:
        with pytest.raises(sherry.CompilerError,
                           match="^target=avx512-vnni needs .*avx512vbmi.*, "
                                 "which this CPU .* lacks"):
            sherry.compile(DYNAMIC_ROWS, "target=avx512-vnni")


def test_pack_of_values_it_cannot_encode_raises():
    # sherry.pack on run-time values used to stop the process (cf.assert).
    module = sherry.compile("""
func.func @pack(%t: tensor<2x32xi8>) -> tensor<2x5xi8> {
  %p = sherry.pack %t layout<sherry, row> : tensor<2x32xi8> -> tensor<2x5xi8>
  return %p : tensor<2x5xi8>
}""")
    good = np.tile(np.array([0, 1, -1, 1], np.int8), (2, 8))
    assert module.pack(good).shape == (2, 5)
    bad = good.copy()
    bad[1, 4:8] = 0
    with pytest.raises(sherry.RuntimeCheckError,
                       match=r"^@pack: sherry.pack at input:3:8: 1 of 16 "
                             r"groups of 4 values do not hold exactly one 0"):
        module.pack(bad)
    assert module.pack(good).shape == (2, 5)


def test_vectorized_dense_matmul_on_threads(rng):
    # vectorize-linalg with threads splits a big dense op (here 1 x 4099
    # outputs of 1031 terms: above the 4 M iterations that qualify) into
    # one chunk per thread; the uneven last chunk and the masked tail of
    # the reduction give what one thread gives.
    m, k = 4099, 1031
    text = """
    #x = affine_map<(i, j, l) -> (i, l)>
    #w = affine_map<(i, j, l) -> (j, l)>
    #y = affine_map<(i, j, l) -> (i, j)>
    func.func @head(%%x: tensor<1x%(k)dxf32>, %%w: tensor<%(m)dx%(k)dxf16>)
        -> tensor<1x%(m)dxf32> {
      %%z = arith.constant 0.0 : f32
      %%e = tensor.empty() : tensor<1x%(m)dxf32>
      %%o = linalg.fill ins(%%z : f32) outs(%%e : tensor<1x%(m)dxf32>)
          -> tensor<1x%(m)dxf32>
      %%r = linalg.generic {indexing_maps = [#x, #w, #y],
          iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%%x, %%w : tensor<1x%(k)dxf32>, tensor<%(m)dx%(k)dxf16>)
          outs(%%o : tensor<1x%(m)dxf32>) {
      ^bb0(%%a: f32, %%b: f16, %%c: f32):
        %%bf = arith.extf %%b : f16 to f32
        %%p = arith.mulf %%a, %%bf : f32
        %%s = arith.addf %%c, %%p : f32
        linalg.yield %%s : f32
      } -> tensor<1x%(m)dxf32>
      return %%r : tensor<1x%(m)dxf32>
    }""" % {"m": m, "k": k}
    x = rng.standard_normal((1, k)).astype(np.float32)
    w = rng.standard_normal((m, k)).astype(np.float16)
    want = x.astype(np.float64) @ w.astype(np.float64).T
    outs = {}
    for threads in (1, 2, 3):
        f = sherry.compile(text, "target=host vectorize-linalg=true "
                           "threads=%d" % threads)["head"]
        outs[threads] = f(x, w)
        np.testing.assert_allclose(outs[threads], want, rtol=1e-4,
                                   atol=1e-4 * np.abs(want).max())
    # Each output is one chunk's, summed in the same order.
    np.testing.assert_array_equal(outs[2], outs[1])
    np.testing.assert_array_equal(outs[3], outs[1])


@pytest.mark.parametrize("options", ["", "target=host threads=2"])
def test_compile_cache(options, tmp_path, monkeypatch):
    # The second compile of the same module loads the object the first one
    # wrote: same signatures, same results, run-time checks and OpenMP
    # threads linked as in the JIT's own code.
    monkeypatch.delenv("SHERRY_CACHE_DIR", raising=False)
    rng = np.random.default_rng(11)
    p = sherry.quantize(rng.normal(size=(64, 256)).astype(np.float32))
    x = rng.normal(size=(5, 256)).astype(np.float32)
    acc = rng.normal(size=(5, 64)).astype(np.float32)
    expected = reference.matmul_reference(x, p, "int8", acc)
    cache = tmp_path / "cache"
    first = sherry.compile(DYNAMIC_ROWS, options, cache_dir=cache)
    second = sherry.compile(DYNAMIC_ROWS, options, cache_dir=cache)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert sorted(p.name for p in cache.iterdir())[0].endswith(".functions")
    assert len(list(cache.iterdir())) == 2
    assert repr(second.mm) == repr(first.mm)
    for module in (first, second):
        assert np.array_equal(module.mm(x, p.data, p.scales, acc), expected)
        with pytest.raises(sherry.RuntimeCheckError, match="x .argument 0. "
                           "has 5 rows but the accumulator .argument 3. has "
                           "1"):
            module.mm(x, p.data, p.scales, acc[:1])
    # Another option, opt level or text is another entry.
    assert not sherry.compile(DYNAMIC_ROWS, options + " row-tile=4",
                              cache_dir=cache).cache_hit
    assert not sherry.compile(DYNAMIC_ROWS, options, opt_level=1,
                              cache_dir=cache).cache_hit
    assert not sherry.compile(DYNAMIC_ROWS + "\n", options,
                              cache_dir=cache).cache_hit
    assert len(list(cache.iterdir())) == 8
    # The environment names the cache where the call does not.
    monkeypatch.setenv("SHERRY_CACHE_DIR", str(cache))
    assert sherry.compile(DYNAMIC_ROWS, options).cache_hit
    assert not sherry.compile(DYNAMIC_ROWS, options, cache_dir="").cache_hit


def test_compile_cache_damaged_or_unusable(tmp_path, monkeypatch):
    monkeypatch.delenv("SHERRY_CACHE_DIR", raising=False)
    rng = np.random.default_rng(12)
    p = sherry.quantize(rng.normal(size=(64, 256)).astype(np.float32))
    x = rng.normal(size=(2, 256)).astype(np.float32)
    acc = np.zeros((2, 64), np.float32)
    expected = reference.matmul_reference(x, p, "int8", acc)
    cache = tmp_path / "cache"
    sherry.compile(DYNAMIC_ROWS, cache_dir=cache)
    (obj,) = cache.glob("*.o")
    (signatures,) = cache.glob("*.functions")
    # A truncated object or signature file is compiled anew and rewritten.
    for damaged in (obj, signatures):
        good = damaged.read_bytes()
        damaged.write_bytes(good[:len(good) // 2])
        module = sherry.compile(DYNAMIC_ROWS, cache_dir=cache)
        assert not module.cache_hit
        assert np.array_equal(module.mm(x, p.data, p.scales, acc), expected)
        assert damaged.read_bytes() == good
        assert sherry.compile(DYNAMIC_ROWS, cache_dir=cache).cache_hit
    # A cache directory that cannot be made fails the call, naming it.
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(sherry.CompilerError, match="could not create the "
                       "compile cache directory '.*file/sub'"):
        sherry.compile(DYNAMIC_ROWS, cache_dir=blocker / "sub")


WITH_CONSTRUCTOR = """
llvm.mlir.global internal @counter(0 : i32) : i32
llvm.func @init() {
  %a = llvm.mlir.addressof @counter : !llvm.ptr
  %c = llvm.mlir.constant(41 : i32) : i32
  llvm.store %c, %a : i32, !llvm.ptr
  llvm.return
}
llvm.mlir.global_ctors ctors = [@init], priorities = [0 : i32], data = [#llvm.zero]
func.func @get() -> i32 {
  %a = llvm.mlir.addressof @counter : !llvm.ptr
  %v = llvm.load %a : !llvm.ptr -> i32
  %one = arith.constant 1 : i32
  %r = arith.addi %v, %one : i32
  return %r : i32
}
"""


def test_compile_cache_skips_code_with_constructors(tmp_path):
    # A cached object would skip the JIT's initializers: such code is
    # compiled every time, and its constructor runs.
    for _ in range(2):
        module = sherry.compile(WITH_CONSTRUCTOR, cache_dir=tmp_path)
        assert not module.cache_hit
        assert module.get() == 42
    assert not list(tmp_path.iterdir())


IN_PLACE_ROWS = """
func.func @mm(%x: tensor<?x256xf32>, %out: memref<?x64xf32>,
              %w: tensor<64x40xi8>, %s: tensor<64xf32>) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x256xf32>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %zero = arith.constant 0.0 : f32
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x64xf32>)
           -> tensor<?x64xf32>
  %y = sherry.matmul ins(%x, %w : tensor<?x256xf32>, tensor<64x40xi8>)
         scales(%s : tensor<64xf32>) outs(%acc : tensor<?x64xf32>)
         layout<sherry, row> mode<int8> -> tensor<?x64xf32>
  bufferization.materialize_in_destination %y in restrict writable %out
    : (tensor<?x64xf32>, memref<?x64xf32>) -> ()
  return
}
"""


def test_rows_caller_writes_in_place():
    # SherryLinear's per-call path: buffers by address, weights bound once;
    # the same numbers as the checked call.
    rng = np.random.default_rng(13)
    p = sherry.quantize(rng.normal(size=(64, 256)).astype(np.float32))
    module = sherry.compile(IN_PLACE_ROWS)
    call = module.mm._rows_caller(p.data, p.scales)
    for rows in (1, 5):
        x = rng.normal(size=(rows, 256)).astype(np.float32)
        out = np.full((rows, 64), np.nan, np.float32)
        call(rows, x.ctypes.data, out.ctypes.data)
        expected = np.zeros((rows, 64), np.float32)
        module.mm(x, expected, p.data, p.scales)
        assert np.array_equal(out, expected)
        assert np.array_equal(out, reference.matmul_reference(
            x, p, "int8", np.zeros((rows, 64), np.float32)))
    with pytest.raises(TypeError, match="returns results"):
        sherry.compile(DYNAMIC_ROWS).mm._rows_caller()
    with pytest.raises(TypeError, match="not a 2-D array with a dynamic "
                                        "number of rows"):
        module.mm._rows_caller(p.scales)


@pytest.mark.parametrize("options", [
    "target=host", "target=host strategy=decode", "target=portable",
    "target=portable kernel=linalg", "target=host threads=2"])
def test_kernel_chosen_per_matmul_gives_the_same_bits(options):
    # One matmul per sherry.kernel (and one unmarked), whatever the options
    # choose: every result bit for bit the format library's int8 reference.
    rng = np.random.default_rng(14)
    p = sherry.quantize(rng.normal(size=(64, 256)).astype(np.float32))
    w, s = _hex(p.data), _hex(p.scales.astype(np.float32))
    body, kernels = [], ["tables", "decode", "portable", "linalg", None]
    for i, kernel in enumerate(kernels):
        mark = (" {sherry.kernel = #sherry.kernel<%s>}" % kernel
                if kernel else "")
        body.append(
            "  %%w%d = arith.constant dense<%s> : tensor<64x40xi8>\n"
            "  %%s%d = arith.constant dense<%s> : tensor<64xf32>\n"
            "  %%y%d = sherry.matmul ins(%%x, %%w%d : tensor<3x256xf32>, "
            "tensor<64x40xi8>) scales(%%s%d : tensor<64xf32>) outs(%%acc : "
            "tensor<3x64xf32>) layout<sherry, row> mode<int8>%s -> "
            "tensor<3x64xf32>" % (i, w, i, s, i, i, i, mark))
    types = ", ".join(["tensor<3x64xf32>"] * len(kernels))
    text = ("func.func @f(%%x: tensor<3x256xf32>, %%acc: tensor<3x64xf32>) "
            "-> (%s) {\n%s\n  return %s : %s\n}" % (
                types, "\n".join(body),
                ", ".join("%%y%d" % i for i in range(len(kernels))), types))
    x = rng.normal(size=(3, 256)).astype(np.float32)
    acc = rng.normal(size=(3, 64)).astype(np.float32)
    expected = reference.matmul_reference(x, p, "int8", acc)
    for y in sherry.compile(text, options).f(x, acc):
        assert np.array_equal(y, expected)
