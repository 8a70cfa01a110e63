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
