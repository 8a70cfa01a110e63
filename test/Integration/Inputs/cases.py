"""Shared pieces of the self-checking integration programs."""


def geometry(layout, m, k):
    """Bytes per row, scales shape and scale type of `layout` (the text of a
    #sherry.layout, e.g. "<sherry, group = 64>") for M x K weights."""
    if "stq1_0" in layout:
        return k // 256 * 42, [m, k // 256], "f16"
    stype = "f16" if "scale_type = f16" in layout else "f32"
    if "tensor" in layout:
        shape = [1]
    elif "group" in layout:
        g = int(layout.split("group =")[1].split(",")[0].split(">")[0])
        shape = [m, k // g]
    else:
        shape = [m]
    return k // 8 + k // 32, shape, stype


def scale_spec(layout):
    """The format library's ScaleSpec (C++, namespace fmt) of `layout`."""
    if "stq1_0" in layout:
        return "fmt::ScaleSpec::group(256)"
    if "tensor" in layout:
        return "fmt::ScaleSpec::tensor()"
    if "group" in layout:
        g = int(layout.split("group =")[1].split(",")[0].split(">")[0])
        return f"fmt::ScaleSpec::group({g})"
    return "fmt::ScaleSpec::row()"


def cpp_case_runner(i, n, m, k, weights_view, sshape, stype, bias):
    """runCase<i> for the AArch64 checkers (checker_support.h): views of the
    case's data as memref descriptors, the call of the compiled
    _mlir_ciface_case<i>, and its result handed to `out`. `weights_view` is
    the `auto w = view<...>(d.w, ...);` line; `sshape` None: no scales."""
    views = [f"auto x = view<sherry_memref_f32_2d>(d.x, {{{n}, {k}}});",
             weights_view]
    params = ["&x", "&w"]
    if sshape:
        views.append(f"auto s = view<sherry_memref_{stype}_{len(sshape)}d>("
                     f"d.s, {{{', '.join(map(str, sshape))}}});")
        params.append("&s")
    if bias:
        views.append(f"auto b = view<sherry_memref_f32_1d>(d.b, {{{m}}});")
        params.append("&b")
    views.append(f"auto acc = view<sherry_memref_f32_2d>(d.acc, {{{n}, {m}}});")
    params.append("&acc")
    body = "\n  ".join(views)
    return f"""
static void runCase{i}(const CaseData &d, Output &out) {{
  {body}
  sherry_memref_f32_2d y;
  _mlir_ciface_case{i}(&y, {', '.join(params)});
  out.take(y);
}}
"""


def count_fn(name, tensor_type, element_type, compare):
    """A function counting the elements of two tensors for which `compare`
    (MLIR lines defining %bad : i1 from %x and %y) holds."""
    return f"""
func.func @{name}(%a: {tensor_type}, %b: {tensor_type}) -> i32 {{
  %zero = arith.constant dense<0> : tensor<i32>
  %n = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> (i, j)>,
                                        affine_map<(i, j) -> ()>],
                       iterator_types = ["reduction", "reduction"]}}
      ins(%a, %b : {tensor_type}, {tensor_type}) outs(%zero : tensor<i32>) {{
    ^bb0(%x: {element_type}, %y: {element_type}, %acc: i32):
      {compare}
      %one = arith.extui %bad : i1 to i32
      %sum = arith.addi %acc, %one : i32
      linalg.yield %sum : i32
  }} -> tensor<i32>
  %r = tensor.extract %n[] : tensor<i32>
  return %r : i32
}}
"""


def resources(blobs):
    """The dialect_resources section holding f32 arrays by name."""
    entries = ",\n".join(
        f'      {name}: "0x04000000{array.astype("<f4").tobytes().hex()}"'
        for name, array in blobs.items())
    return ("\n{-#\n  dialect_resources: {\n    builtin: {\n" + entries +
            "\n    }\n  }\n#-}\n")
