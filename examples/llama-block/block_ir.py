"""The MLIR text of one LLaMA-style decoder block, decoding one token.

Plain func + linalg + tensor + arith + math IR, as a frontend would emit it:
nothing here knows about Sherry. The seven projections are `linalg.matmul`s
with transposed-B indexing maps on weights shaped as `torch.nn.Linear`
stores them (M x K), passed as function arguments. With `marked=True` those
arguments carry the unit attribute `sherry.weights`, which asks
`sherry-sparsify` to replace them with packed arguments.

The block (LLaMA 3 conventions, head size 64, 4 query heads per KV head):

    xn   = rmsnorm(x) * attn_norm
    q, k, v = xn Wq^T, xn Wk^T, xn Wv^T
    q, k = rope(q), rope(k)           (rotate-half, cos/sin given)
    K, V = [k_cache; k], [v_cache; v] (past positions given, grouped KV)
    attn = softmax(q K^T / 8) V       (per head)
    h    = x + attn Wo^T
    hn   = rmsnorm(h) * mlp_norm
    act  = silu(hn Wg^T) * (hn Wu^T)
    out  = h + act Wd^T

@decoder_block returns out, the new cache entries k (after RoPE) and v, and
the inputs and outputs of the seven matmuls ("taps", in TAPS order), which
the driver checks bit for bit.
"""

HEAD_DIM = 64
GROUP = 4          # query heads per KV head (32 / 8 in LLaMA-3.2-1B)
EPS = 1e-5         # RMSNorm epsilon of LLaMA 3

# The seven projections, in argument order.
PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj",
               "gate_proj", "up_proj", "down_proj"]
# Which tap feeds each projection.
PROJECTION_INPUT = {"q_proj": "xn", "k_proj": "xn", "v_proj": "xn",
                    "o_proj": "attn", "gate_proj": "hn", "up_proj": "hn",
                    "down_proj": "act"}
TAPS = ["xn", "q_proj", "k_proj", "v_proj", "attn", "o_proj", "hn",
        "gate_proj", "up_proj", "act", "down_proj"]


def weight_shapes(hidden, inter):
    """M x K of each projection for a block of this size."""
    kv = hidden // GROUP
    return {"q_proj": (hidden, hidden), "k_proj": (kv, hidden),
            "v_proj": (kv, hidden), "o_proj": (hidden, hidden),
            "gate_proj": (inter, hidden), "up_proj": (inter, hidden),
            "down_proj": (hidden, inter)}


def _t(*dims):
    return "tensor<%sxf32>" % "x".join(str(d) for d in dims)


class _Body:
    """Accumulates the lines of the function body."""

    def __init__(self):
        self.lines = []

    def __call__(self, text):
        self.lines.append("  " + text)


def input_args(hidden, past):
    """(name, type) of the block's arguments before the weights."""
    kv_heads = hidden // HEAD_DIM // GROUP
    return [("x", _t(1, hidden)),
            ("k_cache", _t(kv_heads, past, HEAD_DIM)),
            ("v_cache", _t(kv_heads, past, HEAD_DIM)),
            ("cos", _t(HEAD_DIM)), ("sin", _t(HEAD_DIM)),
            ("attn_norm", _t(hidden)), ("mlp_norm", _t(hidden))]


def result_types(hidden, inter):
    """Types of out, k, v and the taps."""
    kv_heads = hidden // HEAD_DIM // GROUP
    shapes = weight_shapes(hidden, inter)
    tap = {"xn": _t(1, hidden), "attn": _t(1, hidden), "hn": _t(1, hidden),
           "act": _t(1, inter)}
    tap.update({n: _t(1, shapes[n][0]) for n in PROJECTIONS})
    return ([_t(1, hidden), _t(kv_heads, HEAD_DIM), _t(kv_heads, HEAD_DIM)]
            + [tap[t] for t in TAPS])


def packed_types(m, k):
    """Types of the packed data and per-row scales of an M x K weight in
    the sherry layout (5 bits per group of 4 weights)."""
    return "tensor<%dx%dxi8>" % (m, 5 * k // 32), "tensor<%dxf32>" % m


def bench_function(name, callee, hidden, inter, past, weight_args):
    """A function that calls `callee` n times on the same inputs inside
    compiled code (so the time per call has no Python in it) and returns
    the sum of out[0, 0] over the calls. weight_args: (name, type) of the
    weight arguments that follow the inputs, passed through."""
    args = input_args(hidden, past) + list(weight_args)
    types = result_types(hidden, inter)
    lines = [
        "func.func @%s(%s, %%n: index) -> f32 {"
        % (name, ", ".join("%%%s: %s" % a for a in args)),
        "  %c0 = arith.constant 0 : index",
        "  %c1 = arith.constant 1 : index",
        "  %zero = arith.constant 0.0 : f32",
        "  %sum = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero)"
        " -> (f32) {",
        "    %%r:%d = func.call @%s(%s) {no_inline} : (%s) -> (%s)"
        % (len(types), callee, ", ".join("%" + a for a, _ in args),
           ", ".join(t for _, t in args), ", ".join(types)),
        "    %%y = tensor.extract %%r#0[%%c0, %%c0] : %s" % types[0],
        "    %s = arith.addf %acc, %y : f32",
        "    scf.yield %s : f32",
        "  }",
        "  return %sum : f32",
        "}",
    ]
    return "\n".join(lines) + "\n"


def block_module(hidden, inter, past, marked=True):
    """Returns the module text of the block.

    hidden: model width (a multiple of 256: 32 query heads of 64 at 2048);
    inter: MLP width; past: cached positions before the new token.
    """
    if hidden % (HEAD_DIM * GROUP):
        raise ValueError("hidden must be a multiple of %d"
                         % (HEAD_DIM * GROUP))
    heads = hidden // HEAD_DIM
    kv_heads = heads // GROUP
    kv = kv_heads * HEAD_DIM
    seq = past + 1
    shapes = weight_shapes(hidden, inter)
    b = _Body()

    b("%zero = arith.constant 0.0 : f32")
    b("%one = arith.constant 1.0 : f32")
    b("%ninf = arith.constant 0xFF800000 : f32")
    b("%%eps = arith.constant %e : f32" % EPS)
    b("%%scale = arith.constant %e : f32" % (HEAD_DIM ** -0.5))
    b("%zero1 = arith.constant dense<0.0> : tensor<1xf32>")

    def rmsnorm(name, x, gamma):
        b("%%%s_ss = linalg.generic {indexing_maps = [#id2, #row2], "
          "iterator_types = [\"parallel\", \"reduction\"]} ins(%s : %s) "
          "outs(%%zero1 : tensor<1xf32>) {" % (name, x, _t(1, hidden)))
        b("^bb0(%a: f32, %acc: f32):")
        b("  %sq = arith.mulf %a, %a : f32")
        b("  %s = arith.addf %sq, %acc : f32")
        b("  linalg.yield %s : f32")
        b("} -> tensor<1xf32>")
        b("%%%s_e = tensor.empty() : %s" % (name, _t(1, hidden)))
        b("%%%s = linalg.generic {indexing_maps = [#id2, #row2, #col2, #id2], "
          "iterator_types = [\"parallel\", \"parallel\"]} "
          "ins(%s, %%%s_ss, %s : %s, tensor<1xf32>, tensor<%dxf32>) "
          "outs(%%%s_e : %s) {"
          % (name, x, name, gamma, _t(1, hidden), hidden, name,
             _t(1, hidden)))
        b("^bb0(%a: f32, %ss: f32, %g: f32, %o: f32):")
        b("  %%mean = arith.divf %%ss, %%n%d : f32" % hidden)
        b("  %m = arith.addf %mean, %eps : f32")
        b("  %r = math.rsqrt %m : f32")
        b("  %ar = arith.mulf %a, %r : f32")
        b("  %y = arith.mulf %ar, %g : f32")
        b("  linalg.yield %y : f32")
        b("} -> %s" % _t(1, hidden))
        return "%" + name

    def linear(name, x):
        m, k = shapes[name]
        b("%%%s_e = tensor.empty() : %s" % (name, _t(1, m)))
        b("%%%s_z = linalg.fill ins(%%zero : f32) outs(%%%s_e : %s) -> %s"
          % (name, name, _t(1, m), _t(1, m)))
        b("%%%s = linalg.matmul indexing_maps = [#mm_x, #mm_w, #mm_y] "
          "ins(%s, %%%s : %s, %s) outs(%%%s_z : %s) -> %s"
          % (name, x, name + "_w", _t(1, k), _t(m, k), name, _t(1, m),
             _t(1, m)))
        return "%" + name

    def heads_view(name, x, n):
        """1 x (n*64) -> n x 64."""
        b("%%%s_flat = tensor.collapse_shape %s [[0, 1]] : %s into "
          "tensor<%dxf32>" % (name, x, _t(1, n * HEAD_DIM), n * HEAD_DIM))
        b("%%%s = tensor.expand_shape %%%s_flat [[0, 1]] output_shape "
          "[%d, %d] : tensor<%dxf32> into %s"
          % (name, name, n, HEAD_DIM, n * HEAD_DIM, _t(n, HEAD_DIM)))
        return "%" + name

    def rope(name, x, n):
        """Rotate-half RoPE on n x 64 heads."""
        b("%%%s_e = tensor.empty() : %s" % (name, _t(n, HEAD_DIM)))
        b("%%%s = linalg.generic {indexing_maps = [#id2, #half2, #col2, "
          "#col2, #id2], iterator_types = [\"parallel\", \"parallel\"]} "
          "ins(%s, %s, %%cos, %%sin : %s, %s, tensor<64xf32>, "
          "tensor<64xf32>) outs(%%%s_e : %s) {"
          % (name, x, x, _t(n, HEAD_DIM), _t(n, HEAD_DIM), name,
             _t(n, HEAD_DIM)))
        b("^bb0(%a: f32, %other: f32, %c: f32, %s: f32, %o: f32):")
        b("  %d = linalg.index 1 : index")
        b("  %first = arith.cmpi ult, %d, %c32 : index")
        b("  %neg = arith.negf %other : f32")
        b("  %rot = arith.select %first, %neg, %other : f32")
        b("  %ac = arith.mulf %a, %c : f32")
        b("  %rs = arith.mulf %rot, %s : f32")
        b("  %y = arith.addf %ac, %rs : f32")
        b("  linalg.yield %y : f32")
        b("} -> %s" % _t(n, HEAD_DIM))
        return "%" + name

    def with_past(name, cache, new):
        """kv_heads x past x 64 and kv_heads x 64 -> kv_heads x seq x 64."""
        b("%%%s_new = tensor.expand_shape %s [[0, 1], [2]] output_shape "
          "[%d, 1, %d] : %s into %s"
          % (name, new, kv_heads, HEAD_DIM, _t(kv_heads, HEAD_DIM),
             _t(kv_heads, 1, HEAD_DIM)))
        b("%%%s_e = tensor.empty() : %s" % (name, _t(kv_heads, seq, HEAD_DIM)))
        b("%%%s_p = tensor.insert_slice %s into %%%s_e[0, 0, 0] "
          "[%d, %d, %d] [1, 1, 1] : %s into %s"
          % (name, cache, name, kv_heads, past, HEAD_DIM,
             _t(kv_heads, past, HEAD_DIM), _t(kv_heads, seq, HEAD_DIM)))
        b("%%%s = tensor.insert_slice %%%s_new into %%%s_p[0, %d, 0] "
          "[%d, 1, %d] [1, 1, 1] : %s into %s"
          % (name, name, name, past, kv_heads, HEAD_DIM,
             _t(kv_heads, 1, HEAD_DIM), _t(kv_heads, seq, HEAD_DIM)))
        return "%" + name

    def reduce_rows(name, x, init, op):
        """heads x seq -> heads, with `op` (maximumf or addf)."""
        b("%%%s_e = tensor.empty() : tensor<%dxf32>" % (name, heads))
        b("%%%s_i = linalg.fill ins(%s : f32) outs(%%%s_e : tensor<%dxf32>) "
          "-> tensor<%dxf32>" % (name, init, name, heads, heads))
        b("%%%s = linalg.generic {indexing_maps = [#id2, #row2], "
          "iterator_types = [\"parallel\", \"reduction\"]} ins(%s : %s) "
          "outs(%%%s_i : tensor<%dxf32>) {"
          % (name, x, _t(heads, seq), name, heads))
        b("^bb0(%a: f32, %acc: f32):")
        b("  %%r = arith.%s %%a, %%acc : f32" % op)
        b("  linalg.yield %r : f32")
        b("} -> tensor<%dxf32>" % heads)
        return "%" + name

    def add(name, x, y, n):
        b("%%%s_e = tensor.empty() : %s" % (name, _t(1, n)))
        b("%%%s = linalg.generic {indexing_maps = [#id2, #id2, #id2], "
          "iterator_types = [\"parallel\", \"parallel\"]} "
          "ins(%s, %s : %s, %s) "
          "outs(%%%s_e : %s) {" % (name, x, y, _t(1, n), _t(1, n), name,
                                   _t(1, n)))
        b("^bb0(%a: f32, %c: f32, %o: f32):")
        b("  %s = arith.addf %a, %c : f32")
        b("  linalg.yield %s : f32")
        b("} -> %s" % _t(1, n))
        return "%" + name

    b("%%n%d = arith.constant %d.0 : f32" % (hidden, hidden))
    b("%c32 = arith.constant 32 : index")

    # Attention.
    xn = rmsnorm("xn", "%x", "%attn_norm")
    q = linear("q_proj", xn)
    k = linear("k_proj", xn)
    v = linear("v_proj", xn)
    qr = rope("q_rope", heads_view("q_heads", q, heads), heads)
    kr = rope("k_rope", heads_view("k_heads", k, kv_heads), kv_heads)
    vh = heads_view("v_heads", v, kv_heads)
    keys = with_past("keys", "%k_cache", kr)
    values = with_past("values", "%v_cache", vh)

    b("%%scores_e = tensor.empty() : %s" % _t(heads, seq))
    b("%%scores_z = linalg.fill ins(%%zero : f32) outs(%%scores_e : %s) -> %s"
      % (_t(heads, seq), _t(heads, seq)))
    b("%%scores = linalg.generic {indexing_maps = [#q_hd, #k_htd, #s_ht], "
      "iterator_types = [\"parallel\", \"parallel\", \"reduction\"]} "
      "ins(%s, %s : %s, %s) outs(%%scores_z : %s) {"
      % (qr, keys, _t(heads, HEAD_DIM), _t(kv_heads, seq, HEAD_DIM),
         _t(heads, seq)))
    b("^bb0(%a: f32, %c: f32, %acc: f32):")
    b("  %p = arith.mulf %a, %c : f32")
    b("  %s = arith.addf %p, %acc : f32")
    b("  linalg.yield %s : f32")
    b("} -> %s" % _t(heads, seq))
    smax = reduce_rows("smax", "%scores", "%ninf", "maximumf")
    b("%%probs_e = tensor.empty() : %s" % _t(heads, seq))
    b("%%exps = linalg.generic {indexing_maps = [#id2, #row2, #id2], "
      "iterator_types = [\"parallel\", \"parallel\"]} "
      "ins(%%scores, %s : %s, tensor<%dxf32>) outs(%%probs_e : %s) {"
      % (smax, _t(heads, seq), heads, _t(heads, seq)))
    b("^bb0(%s: f32, %m: f32, %o: f32):")
    b("  %d = arith.subf %s, %m : f32")
    b("  %ds = arith.mulf %d, %scale : f32")
    b("  %e = math.exp %ds : f32")
    b("  linalg.yield %e : f32")
    b("} -> %s" % _t(heads, seq))
    ssum = reduce_rows("ssum", "%exps", "%zero", "addf")
    b("%%probs = linalg.generic {indexing_maps = [#id2, #row2, #id2], "
      "iterator_types = [\"parallel\", \"parallel\"]} "
      "ins(%%exps, %s : %s, tensor<%dxf32>) outs(%%probs_e : %s) {"
      % (ssum, _t(heads, seq), heads, _t(heads, seq)))
    b("^bb0(%e: f32, %s: f32, %o: f32):")
    b("  %p = arith.divf %e, %s : f32")
    b("  linalg.yield %p : f32")
    b("} -> %s" % _t(heads, seq))
    b("%%ctx_e = tensor.empty() : %s" % _t(heads, HEAD_DIM))
    b("%%ctx_z = linalg.fill ins(%%zero : f32) outs(%%ctx_e : %s) -> %s"
      % (_t(heads, HEAD_DIM), _t(heads, HEAD_DIM)))
    b("%%ctx = linalg.generic {indexing_maps = [#p_htd, #v_htd, #o_htd], "
      "iterator_types = [\"parallel\", \"parallel\", \"reduction\"]} "
      "ins(%%probs, %s : %s, %s) outs(%%ctx_z : %s) {"
      % (values, _t(heads, seq), _t(kv_heads, seq, HEAD_DIM),
         _t(heads, HEAD_DIM)))
    b("^bb0(%p: f32, %c: f32, %acc: f32):")
    b("  %pv = arith.mulf %p, %c : f32")
    b("  %s = arith.addf %pv, %acc : f32")
    b("  linalg.yield %s : f32")
    b("} -> %s" % _t(heads, HEAD_DIM))
    b("%%ctx_flat = tensor.collapse_shape %%ctx [[0, 1]] : %s into "
      "tensor<%dxf32>" % (_t(heads, HEAD_DIM), hidden))
    b("%%attn = tensor.expand_shape %%ctx_flat [[0, 1]] output_shape [1, %d] "
      ": tensor<%dxf32> into %s" % (hidden, hidden, _t(1, hidden)))
    o = linear("o_proj", "%attn")
    h = add("h", "%x", o, hidden)

    # MLP.
    hn = rmsnorm("hn", h, "%mlp_norm")
    g = linear("gate_proj", hn)
    u = linear("up_proj", hn)
    b("%%act_e = tensor.empty() : %s" % _t(1, inter))
    b("%%act = linalg.generic {indexing_maps = [#id2, #id2, #id2], "
      "iterator_types = [\"parallel\", \"parallel\"]} ins(%s, %s : %s, %s) "
      "outs(%%act_e : %s) {" % (g, u, _t(1, inter), _t(1, inter),
                                _t(1, inter)))
    b("^bb0(%gv: f32, %uv: f32, %o: f32):")
    b("  %neg = arith.negf %gv : f32")
    b("  %ex = math.exp %neg : f32")
    b("  %den = arith.addf %one, %ex : f32")
    b("  %silu = arith.divf %gv, %den : f32")
    b("  %y = arith.mulf %silu, %uv : f32")
    b("  linalg.yield %y : f32")
    b("} -> %s" % _t(1, inter))
    d = linear("down_proj", "%act")
    out = add("out", h, d, hidden)

    results = [out, kr, vh] + ["%" + t for t in TAPS]
    types = result_types(hidden, inter)
    b("return %s : %s" % (", ".join(results), ", ".join(types)))

    mark = " {sherry.weights}" if marked else ""
    args = ["%%%s: %s" % a for a in input_args(hidden, past)]
    args += ["%%%s_w: %s%s" % (n, _t(*shapes[n]), mark) for n in PROJECTIONS]
    header = [
        "// A LLaMA-style decoder block decoding one token: hidden %d, %d "
        "query heads and" % (hidden, heads),
        "// %d KV heads of %d, MLP %d, %d cached positions. Generated by "
        "examples/llama-block/block_ir.py." % (kv_heads, HEAD_DIM, inter,
                                               past),
        "#id2 = affine_map<(i, j) -> (i, j)>",
        "#row2 = affine_map<(i, j) -> (i)>",
        "#col2 = affine_map<(i, j) -> (j)>",
        "#half2 = affine_map<(h, d) -> (h, (d + 32) mod 64)>",
        "#mm_x = affine_map<(m, n, k) -> (m, k)>",
        "#mm_w = affine_map<(m, n, k) -> (n, k)>",
        "#mm_y = affine_map<(m, n, k) -> (m, n)>",
        "#q_hd = affine_map<(h, t, d) -> (h, d)>",
        "#k_htd = affine_map<(h, t, d) -> (h floordiv %d, t, d)>" % GROUP,
        "#s_ht = affine_map<(h, t, d) -> (h, t)>",
        "#p_htd = affine_map<(h, d, t) -> (h, t)>",
        "#v_htd = affine_map<(h, d, t) -> (h floordiv %d, t, d)>" % GROUP,
        "#o_htd = affine_map<(h, d, t) -> (h, d)>",
        "func.func @decoder_block(%s)" % (",\n    ".join(args)),
        "    -> (%s) {" % ", ".join(types),
    ]
    return "\n".join(header + b.lines + ["}", ""])


def main():
    import argparse
    ap = argparse.ArgumentParser(
        description="Print the decoder block's MLIR (weights as arguments).")
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--inter", type=int, default=8192)
    ap.add_argument("--past", type=int, default=63)
    ap.add_argument("--unmarked", action="store_true",
                    help="leave out the sherry.weights marks")
    a = ap.parse_args()
    print(block_module(a.hidden, a.inter, a.past, not a.unmarked), end="")


if __name__ == "__main__":
    main()
