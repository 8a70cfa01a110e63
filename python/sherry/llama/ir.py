"""The MLIR of a whole LLaMA model: func + linalg + tensor IR, the form
torch-mlir emits, with nothing of Sherry in it but the `sherry.weights`
marks that ask `sherry-sparsify` to take the projections as packed weights.

One function runs `tokens` positions (a prefill chunk, or 1 to decode):

    func.func @NAME(%tokens: tensor<N x i32>, %pos: index,
                    %k_cache: memref<L x KV x C x D x f32>,
                    %v_cache: memref<L x KV x C x D x f32>,
                    %embed_tokens: tensor<V x H x f32>,
                    per layer: %l<i>_input_layernorm: tensor<H x f32>,
                               %l<i>_q_proj ... %l<i>_o_proj,
                               %l<i>_post_attention_layernorm,
                               %l<i>_gate_proj, %l<i>_up_proj,
                               %l<i>_down_proj  (M x K f32, sherry.weights),
                    %norm: tensor<H x f32>,
                    %lm_head: tensor<V x H x f32>   (absent when tied))
        -> tensor<R x V x f32>      (R = N, or 1: the last position's)

Token i of the chunk is at position pos + i. The caches are the caller's:
the function writes the chunk's keys (after RoPE) and values at positions
pos .. pos + N - 1 of every layer and attends, causally, over positions
0 .. pos + N - 1. The caller keeps pos + N <= C and the token ids below V.

The model also comes in pieces that a caller chains (model_function's
`part`): @embed (tokens to N x H states), @layer (one decoder layer, its
caches 1 x KV x C x D, called once per layer with that layer's weights)
and @head (final norm and lm_head): one layer's code instead of L copies,
so compile time does not grow with depth.
"""

from .config import ModelError


def tensor(*dims, elem="f32"):
    return "tensor<%s>" % "x".join([str(d) for d in dims] + [elem])


def layer_arguments(config):
    """(suffix, kind) of one layer's arguments in order: kind is 'norm' or
    the projection name."""
    return ([("input_layernorm", "norm")]
            + [(n, n) for n in ("q_proj", "k_proj", "v_proj", "o_proj")]
            + [("post_attention_layernorm", "norm")]
            + [(n, n) for n in ("gate_proj", "up_proj", "down_proj")])


PARTS = ("model", "embed", "layer", "head")


def weight_arguments(config, part="model", layer=0):
    """(argument name, checkpoint name, shape, projection?) of the weight
    arguments of a function of `part` (see model_function), in order;
    checkpoint names as Hugging Face's LLaMA, of layer `layer` for a
    'layer' function (whose arguments are named l0_...)."""
    h = config.hidden_size
    shapes = config.projection_shapes()
    embed = ("embed_tokens", "model.embed_tokens.weight",
             (config.vocab_size, h), False)
    args = [embed] if part in ("model", "embed") else []
    layers = {"model": range(config.num_hidden_layers),
              "layer": [layer]}.get(part, [])
    for i in layers:
        arg = "l%d_%s" % (0 if part == "layer" else i, "%s")
        for suffix, kind in layer_arguments(config):
            if kind == "norm":
                name = "model.layers.%d.%s.weight" % (i, suffix)
                args.append((arg % suffix, name, (h,), False))
            else:
                group = "mlp" if suffix in ("gate_proj", "up_proj",
                                            "down_proj") else "self_attn"
                name = "model.layers.%d.%s.%s.weight" % (i, group, suffix)
                args.append((arg % suffix, name, shapes[suffix], True))
    if part in ("model", "head"):
        args.append(("norm", "model.norm.weight", (h,), False))
        if not config.tie_word_embeddings:
            args.append(("lm_head", "lm_head.weight",
                         (config.vocab_size, h), False))
        elif part == "head":
            args.append(embed)
    return args


class _Emitter:
    """The lines of one function body, with fresh SSA names."""

    def __init__(self):
        self.lines = []
        self.count = {}

    def __call__(self, text):
        self.lines.append("  " + text)

    def fresh(self, base):
        n = self.count.get(base, 0)
        self.count[base] = n + 1
        return "%%%s_%d" % (base, n)


# Indexing maps used by the generic ops, by name.
_MAPS = {
    "id2": "(a, b) -> (a, b)",
    "row2": "(a, b) -> (a)",
    "col2": "(a, b) -> (b)",
    "id3": "(a, b, c) -> (a, b, c)",
    "mm_x": "(m, n, k) -> (m, k)",
    "mm_w": "(m, n, k) -> (n, k)",
    "mm_y": "(m, n, k) -> (m, n)",
    "rope_x": "(n, h, d) -> (n, h, d)",
    "rope_cs": "(n, h, i) -> (n, i)",
    # scores(h, n, t) = sum_d q(n, h, d) k(h / G, t, d)
    "sc_q": "(h, n, t, d) -> (n, h, d)",
    "sc_k": "(h, n, t, d) -> (h floordiv {group}, t, d)",
    "sc_s": "(h, n, t, d) -> (h, n, t)",
    "sm_row": "(h, n, t) -> (h, n)",
    "sm_id": "(h, n, t) -> (h, n, t)",
    # ctx(n, h, d) = sum_t p(h, n, t) v(h / G, t, d); d innermost, the
    # cache's contiguous dimension.
    "cx_p": "(n, h, t, d) -> (h, n, t)",
    "cx_v": "(n, h, t, d) -> (h floordiv {group}, t, d)",
    "cx_o": "(n, h, t, d) -> (n, h, d)",
}


def model_function(config, name, tokens, max_context, logits="last",
                   marked=True, part="model", dense="f32",
                   projection_type="f32", kv_type="f32"):
    """The text of one function (see the module docstring). tokens: N;
    max_context: C, the cache's positions; logits: 'last' (1 x V) or 'all'
    (N x V); marked: put sherry.weights on the projections. part: 'model'
    (the whole model), or one piece of it: 'embed' (token ids to the N x H
    hidden states), 'layer' (one decoder layer on N x H states, its caches
    of shape 1 x KV x C x D), 'head' (final norm and lm_head on N x H
    states). dense: element type of embed_tokens and lm_head ('f32',
    'f16'); computation is in f32. projection_type: element type of the
    projections: 'f32' (what sherry-sparsify takes), or 'f16' for an
    unmarked dense model. kv_type: element type of the KV caches ('f32',
    or 'f16' as llama.cpp keeps them: half the bytes attention reads; keys
    and values are rounded to it when stored, computation is in f32)."""
    if kv_type not in ("f32", "f16"):
        raise ValueError("kv_type must be 'f32' or 'f16', got %r"
                         % (kv_type,))
    if dense not in ("f32", "f16"):
        raise ValueError("dense must be 'f32' or 'f16', got %r" % (dense,))
    if projection_type not in ("f32", "f16") or (
            projection_type != "f32" and marked):
        raise ValueError("projection_type must be 'f32', or 'f16' for an "
                         "unmarked model, got %r" % (projection_type,))
    if part not in PARTS:
        raise ValueError("part must be one of %s" % ", ".join(PARTS))
    if logits not in ("last", "all"):
        raise ValueError("logits must be 'last' or 'all', got %r"
                         % (logits,))
    if tokens < 1 or tokens > max_context:
        raise ModelError("a chunk of %d tokens does not fit a cache of %d "
                         "positions" % (tokens, max_context))
    c = config
    n, h, v = tokens, c.hidden_size, c.vocab_size
    d, kvh, qh = c.head_dim, c.num_key_value_heads, c.num_attention_heads
    inter = c.intermediate_size
    layers = {"model": c.num_hidden_layers, "layer": 1}.get(part, 0)
    half = d // 2
    cache = "memref<%dx%dx%dx%dx%s>" % (layers, kvh, max_context, d, kv_type)
    cache_part = ("memref<%dx%dx%dx%s, strided<[%d, %d, 1], offset: ?>>"
                  % (kvh, n, d, kv_type, max_context * d, d))

    def cache_past(layer):
        return ("memref<%dx?x%dx%s, strided<[%d, %d, 1], offset: %d>>"
                % (kvh, d, kv_type, max_context * d, d,
                   layer * kvh * max_context * d))
    b = _Emitter()
    generic = ("linalg.generic {indexing_maps = [%s], iterator_types = "
               "[%s]}")

    def it(*kinds):
        return ", ".join('"%s"' % k for k in kinds)

    def maps(*names):
        return ", ".join("#" + m for m in names)

    def empty(shape, dyn=()):
        e = b.fresh("e")
        b("%s = tensor.empty(%s) : %s" % (e, ", ".join(dyn), shape))
        return e

    def filled(value, shape, dyn=()):
        e = empty(shape, dyn)
        f = b.fresh("z")
        b("%s = linalg.fill ins(%s : f32) outs(%s : %s) -> %s"
          % (f, value, e, shape, shape))
        return f

    b("%zero = arith.constant 0.0 : f32")
    b("%one = arith.constant 1.0 : f32")
    b("%ninf = arith.constant 0xFF800000 : f32")
    b("%%eps = arith.constant %.9e : f32" % c.rms_norm_eps)
    b("%%hidden = arith.constant %d.0 : f32" % h)
    b("%%scale = arith.constant %.9e : f32" % (d ** -0.5))
    b("%c0 = arith.constant 0 : index")
    b("%%cN = arith.constant %d : index" % n)
    b("%%clast = arith.constant %d : index" % (v - 1))
    b("%%chalf = arith.constant %d : index" % half)
    cs = {}
    if layers:
        b("%len = arith.addi %pos, %cN : index")
        inv = ", ".join("%.17e" % f for f in c.inverse_frequencies())
        b("%%inv_freq = arith.constant dense<[%s]> : %s"
          % (inv, tensor(half, elem="f64")))
        # cos / sin of each position's angles, N x D/2 (in f64: exact angles at
        # long contexts).
        for fn in ("cos", "sin"):
            e = empty(tensor(n, half))
            cs[fn] = b.fresh(fn)
            b("%s = %s ins(%%inv_freq : %s) outs(%s : %s) {"
              % (cs[fn], generic % (maps("col2", "id2"), it("parallel",
                                                             "parallel")),
                 tensor(half, elem="f64"), e, tensor(n, half)))
            b("^bb0(%f: f64, %o: f32):")
            b("  %i = linalg.index 0 : index")
            b("  %p = arith.addi %pos, %i : index")
            b("  %pi = arith.index_cast %p : index to i64")
            b("  %pf = arith.sitofp %pi : i64 to f64")
            b("  %a = arith.mulf %pf, %f : f64")
            b("  %%r = math.%s %%a : f64" % fn)
            b("  %rf = arith.truncf %r : f64 to f32")
            b("  linalg.yield %rf : f32")
            b("} -> %s" % tensor(n, half))

    x = "%x"
    if part in ("model", "embed"):
        # Token embeddings: N x H.
        e = empty(tensor(n, h))
        x = b.fresh("x")
        b("%s = %s ins(%%tokens : %s) outs(%s : %s) {"
          % (x, generic % (maps("row2", "id2"), it("parallel", "parallel")),
             tensor(n, elem="i32"), e, tensor(n, h)))
        b("^bb0(%t: i32, %o: f32):")
        # Ids are checked by the caller; the clamp keeps a bad one in bounds.
        b("  %ti = arith.index_cast %t : i32 to index")
        b("  %tc = arith.minui %ti, %clast : index")
        b("  %j = linalg.index 1 : index")
        b("  %%val = tensor.extract %%embed_tokens[%%tc, %%j] : %s"
          % tensor(v, h, elem=dense))
        if dense != "f32":
            b("  %%wide = arith.extf %%val : %s to f32" % dense)
            b("  linalg.yield %wide : f32")
        else:
            b("  linalg.yield %val : f32")
        b("} -> %s" % tensor(n, h))

    def rmsnorm(xv, gamma, rows, width):
        ss = b.fresh("ss")
        init = filled("%zero", tensor(rows))
        b("%s = %s ins(%s : %s) outs(%s : %s) {"
          % (ss, generic % (maps("id2", "row2"), it("parallel", "reduction")),
             xv, tensor(rows, width), init, tensor(rows)))
        b("^bb0(%a: f32, %acc: f32):")
        b("  %sq = arith.mulf %a, %a : f32")
        b("  %s = arith.addf %sq, %acc : f32")
        b("  linalg.yield %s : f32")
        b("} -> %s" % tensor(rows))
        e = empty(tensor(rows, width))
        y = b.fresh("xn")
        b("%s = %s ins(%s, %s, %s : %s, %s, %s) outs(%s : %s) {"
          % (y, generic % (maps("id2", "row2", "col2", "id2"),
                           it("parallel", "parallel")),
             xv, ss, gamma, tensor(rows, width), tensor(rows),
             tensor(width), e, tensor(rows, width)))
        b("^bb0(%a: f32, %s: f32, %g: f32, %o: f32):")
        b("  %mean = arith.divf %s, %hidden : f32")
        b("  %m = arith.addf %mean, %eps : f32")
        b("  %r = math.rsqrt %m : f32")
        b("  %ar = arith.mulf %a, %r : f32")
        b("  %y = arith.mulf %ar, %g : f32")
        b("  linalg.yield %y : f32")
        b("} -> %s" % tensor(rows, width))
        return y

    def linear(xv, w, rows, m, k, elem="f32"):
        init = filled("%zero", tensor(rows, m))
        y = b.fresh("y")
        b("%s = linalg.matmul indexing_maps = [%s] ins(%s, %s : %s, %s) "
          "outs(%s : %s) -> %s"
          % (y, maps("mm_x", "mm_w", "mm_y"), xv, w, tensor(rows, k),
             tensor(m, k, elem=elem), init, tensor(rows, m),
             tensor(rows, m)))
        return y

    def elementwise(a, c2, shape, body):
        e = empty(shape)
        y = b.fresh("y")
        b("%s = %s ins(%s, %s : %s, %s) outs(%s : %s) {"
          % (y, generic % (maps("id2", "id2", "id2"),
                           it("parallel", "parallel")),
             a, c2, shape, shape, e, shape))
        b("^bb0(%a: f32, %b: f32, %o: f32):")
        for line in body:
            b("  " + line)
        b("} -> %s" % shape)
        return y

    def heads(xv, count):
        """N x (count * D) -> N x count x D."""
        y = b.fresh("heads")
        b("%s = tensor.expand_shape %s [[0], [1, 2]] output_shape [%d, %d, "
          "%d] : %s into %s" % (y, xv, n, count, d, tensor(n, count * d),
                                tensor(n, count, d)))
        return y

    def rope(xv, count):
        """Rotate-half RoPE on N x count x D: with x1, x2 the halves of each
        head, x1 c - x2 s and x2 c + x1 s."""
        shape, part = tensor(n, count, d), tensor(n, count, half)
        halves = []
        for i in range(2):
            h_ = b.fresh("half")
            b("%s = tensor.extract_slice %s[0, 0, %d] [%d, %d, %d] "
              "[1, 1, 1] : %s to %s" % (h_, xv, i * half, n, count, half,
                                        shape, part))
            halves.append(h_)
        y = empty(shape)
        for i, sign in ((0, "subf"), (1, "addf")):
            r = b.fresh("rope")
            b("%s = %s ins(%s, %s, %s, %s : %s, %s, %s, %s) outs(%s : %s) {"
              % (r, generic % (maps("rope_x", "rope_x", "rope_cs",
                                    "rope_cs", "rope_x"),
                               it("parallel", "parallel", "parallel")),
                 halves[i], halves[1 - i], cs["cos"], cs["sin"], part, part,
                 tensor(n, half), tensor(n, half), empty(part), part))
            b("^bb0(%a: f32, %other: f32, %c: f32, %s: f32, %o: f32):")
            b("  %ac = arith.mulf %a, %c : f32")
            b("  %os = arith.mulf %other, %s : f32")
            b("  %%r = arith.%s %%ac, %%os : f32" % sign)
            b("  linalg.yield %r : f32")
            b("} -> %s" % part)
            full = b.fresh("roped")
            b("%s = tensor.insert_slice %s into %s[0, 0, %d] [%d, %d, %d] "
              "[1, 1, 1] : %s into %s" % (full, r, y, i * half, n, count,
                                          half, part, shape))
            y = full
        return y

    def store(new, cache_name, layer):
        """Writes N x KV x D into the cache at (layer, :, pos .. pos+N-1)."""
        e = empty(tensor(kvh, n, d))
        t = b.fresh("kvt")
        b("%s = linalg.transpose ins(%s : %s) outs(%s : %s) "
          "permutation = [1, 0, 2]"
          % (t, new, tensor(n, kvh, d), e, tensor(kvh, n, d)))
        if kv_type != "f32":
            narrow = tensor(kvh, n, d, elem=kv_type)
            e = b.fresh("kve")
            b("%s = tensor.empty() : %s" % (e, narrow))
            r = b.fresh("kvr")
            b("%s = %s ins(%s : %s) outs(%s : %s) {"
              % (r, generic % (maps("id3", "id3"),
                               it("parallel", "parallel", "parallel")),
                 t, tensor(kvh, n, d), e, narrow))
            b("^bb0(%%a: f32, %%o: %s):" % kv_type)
            b("  %%r = arith.truncf %%a : f32 to %s" % kv_type)
            b("  linalg.yield %%r : %s" % kv_type)
            b("} -> %s" % narrow)
            t = r
        sub = b.fresh("slot")
        b("%s = memref.subview %%%s[%d, 0, %%pos, 0] [1, %d, %d, %d] "
          "[1, 1, 1, 1] : %s to %s"
          % (sub, cache_name, layer, kvh, n, d, cache, cache_part))
        b("bufferization.materialize_in_destination %s in writable %s : "
          "(%s, %s) -> ()" % (t, sub, tensor(kvh, n, d, elem=kv_type),
                              cache_part))

    def past(cache_name, layer):
        """KV x (pos + N) x D of the cache, after the chunk's store."""
        sub = b.fresh("past")
        b("%s = memref.subview %%%s[%d, 0, 0, 0] [1, %d, %%len, %d] "
          "[1, 1, 1, 1] : %s to %s"
          % (sub, cache_name, layer, kvh, d, cache, cache_past(layer)))
        t = b.fresh("seen")
        b("%s = bufferization.to_tensor %s restrict : %s to %s"
          % (t, sub, cache_past(layer), tensor(kvh, "?", d, elem=kv_type)))
        return t

    def cache_element(name):
        """The block argument of a cache element, and the line that widens
        it to f32 as `name` (none for an f32 cache)."""
        if kv_type == "f32":
            return name, []
        return name + "n", ["  %s = arith.extf %sn : %s to f32"
                            % (name, name, kv_type)]

    def attention(q, keys, values):
        scores_t = tensor(qh, n, "?")
        init = filled("%zero", scores_t, ["%len"])
        s = b.fresh("scores")
        b("%s = %s ins(%s, %s : %s, %s) outs(%s : %s) {"
          % (s, generic % (maps("sc_q", "sc_k", "sc_s"),
                           it("parallel", "parallel", "parallel",
                              "reduction")),
             q, keys, tensor(n, qh, d), tensor(kvh, "?", d, elem=kv_type),
             init, scores_t))
        arg, widen = cache_element("%k")
        b("^bb0(%%a: f32, %s: %s, %%acc: f32):" % (arg, kv_type))
        for line in widen:
            b(line)
        b("  %p = arith.mulf %a, %k : f32")
        b("  %s = arith.addf %p, %acc : f32")
        b("  linalg.yield %s : f32")
        b("} -> %s" % scores_t)
        # Scaled, with the future masked: t > pos + n.
        e = empty(scores_t, ["%len"])
        masked = b.fresh("masked")
        b("%s = %s ins(%s : %s) outs(%s : %s) {"
          % (masked, generic % (maps("sm_id", "sm_id"),
                                it("parallel", "parallel", "parallel")),
             s, scores_t, e, scores_t))
        b("^bb0(%a: f32, %o: f32):")
        b("  %i = linalg.index 1 : index")
        b("  %t = linalg.index 2 : index")
        b("  %at = arith.addi %pos, %i : index")
        b("  %future = arith.cmpi ugt, %t, %at : index")
        b("  %sc = arith.mulf %a, %scale : f32")
        b("  %r = arith.select %future, %ninf, %sc : f32")
        b("  linalg.yield %r : f32")
        b("} -> %s" % scores_t)
        rows_t = tensor(qh, n)

        def reduce_rows(src, init, op):
            """heads x N x T -> heads x N, combining with `op`."""
            out = b.fresh("rows")
            b("%s = %s ins(%s : %s) outs(%s : %s) {"
              % (out, generic % (maps("sm_id", "sm_row"),
                                 it("parallel", "parallel", "reduction")),
                 src, scores_t, filled(init, rows_t), rows_t))
            b("^bb0(%a: f32, %acc: f32):")
            b("  %%r = arith.%s %%a, %%acc : f32" % op)
            b("  linalg.yield %r : f32")
            b("} -> %s" % rows_t)
            return out

        def with_rows(src, rows, body):
            """f(score, its row's value) over heads x N x T."""
            out = b.fresh("soft")
            b("%s = %s ins(%s, %s : %s, %s) outs(%s : %s) {"
              % (out, generic % (maps("sm_id", "sm_row", "sm_id"),
                                 it("parallel", "parallel", "parallel")),
                 src, rows, scores_t, rows_t, empty(scores_t, ["%len"]),
                 scores_t))
            b("^bb0(%a: f32, %row: f32, %o: f32):")
            for line in body:
                b("  " + line)
            b("  linalg.yield %r : f32")
            b("} -> %s" % scores_t)
            return out

        ex = with_rows(masked, reduce_rows(masked, "%ninf", "maximumf"),
                       ["%dd = arith.subf %a, %row : f32",
                        "%r = math.exp %dd : f32"])
        pr = with_rows(ex, reduce_rows(ex, "%zero", "addf"),
                       ["%r = arith.divf %a, %row : f32"])
        ctx_t = tensor(n, qh, d)
        init = filled("%zero", ctx_t)
        ctx = b.fresh("ctx")
        b("%s = %s ins(%s, %s : %s, %s) outs(%s : %s) {"
          % (ctx, generic % (maps("cx_p", "cx_v", "cx_o"),
                             it("parallel", "parallel", "reduction",
                                "parallel")),
             pr, values, scores_t, tensor(kvh, "?", d, elem=kv_type), init,
             ctx_t))
        arg, widen = cache_element("%vv")
        b("^bb0(%%p: f32, %s: %s, %%acc: f32):" % (arg, kv_type))
        for line in widen:
            b(line)
        b("  %pv = arith.mulf %p, %vv : f32")
        b("  %s = arith.addf %pv, %acc : f32")
        b("  linalg.yield %s : f32")
        b("} -> %s" % ctx_t)
        flat = b.fresh("attn")
        b("%s = tensor.collapse_shape %s [[0], [1, 2]] : %s into %s"
          % (flat, ctx, ctx_t, tensor(n, qh * d)))
        return flat

    add = ["%r = arith.addf %a, %b : f32", "linalg.yield %r : f32"]
    swiglu = ["%ng = arith.negf %a : f32", "%ex = math.exp %ng : f32",
              "%den = arith.addf %one, %ex : f32",
              "%silu = arith.divf %a, %den : f32",
              "%r = arith.mulf %silu, %b : f32", "linalg.yield %r : f32"]
    shapes = c.projection_shapes()
    for layer in range(layers):
        p = "%%l%d_" % layer
        xn = rmsnorm(x, p + "input_layernorm", n, h)
        q = linear(xn, p + "q_proj", n, *shapes["q_proj"], projection_type)
        k = linear(xn, p + "k_proj", n, *shapes["k_proj"], projection_type)
        val = linear(xn, p + "v_proj", n, *shapes["v_proj"],
                     projection_type)
        q = rope(heads(q, qh), qh)
        k = rope(heads(k, kvh), kvh)
        store(k, "k_cache", layer)
        store(heads(val, kvh), "v_cache", layer)
        a = attention(q, past("k_cache", layer), past("v_cache", layer))
        o = linear(a, p + "o_proj", n, *shapes["o_proj"], projection_type)
        x = elementwise(x, o, tensor(n, h), add)
        hn = rmsnorm(x, p + "post_attention_layernorm", n, h)
        g = linear(hn, p + "gate_proj", n, *shapes["gate_proj"],
                   projection_type)
        u = linear(hn, p + "up_proj", n, *shapes["up_proj"], projection_type)
        act = elementwise(g, u, tensor(n, inter), swiglu)
        dn = linear(act, p + "down_proj", n, *shapes["down_proj"],
                    projection_type)
        x = elementwise(x, dn, tensor(n, h), add)

    if part in ("model", "head"):
        rows = n
        if logits == "last" and n > 1:
            last = b.fresh("last")
            b("%s = tensor.extract_slice %s[%d, 0] [1, %d] [1, 1] : %s to %s"
              % (last, x, n - 1, h, tensor(n, h), tensor(1, h)))
            x, rows = last, 1
        elif logits == "last":
            rows = 1
        xn = rmsnorm(x, "%norm", rows, h)
        head = "%embed_tokens" if c.tie_word_embeddings else "%lm_head"
        x = linear(xn, head, rows, v, h, dense)
        result = tensor(rows, v)
    else:
        result = tensor(n, h)
    b("return %s : %s" % (x, result))

    mark = " {sherry.weights}" if marked else ""
    if part in ("model", "embed"):
        args = ["%%tokens: %s" % tensor(n, elem="i32")]
    else:
        args = ["%%x: %s" % tensor(n, h)]
    if layers:
        args += ["%pos: index", "%%k_cache: %s" % cache,
                 "%%v_cache: %s" % cache]
    for arg, _, shape, projection in weight_arguments(c, part):
        elem = dense if arg in ("embed_tokens", "lm_head") else \
            projection_type if projection else "f32"
        args.append("%%%s: %s%s" % (arg, tensor(*shape, elem=elem),
                                    mark if projection else ""))
    header = "func.func @%s(%s)\n    -> %s {" % (
        name, ",\n    ".join(args), result)
    return "\n".join([header] + b.lines + ["}", ""])


def model_module(config, functions, max_context, marked=True,
                 dense="f32", projection_type="f32", kv_type="f32"):
    """A module of model functions: functions is [(name, tokens, logits,
    part)] (part optional, default 'model'); dense, projection_type and
    kv_type as model_function."""
    c = config
    fmt = {"group": c.num_attention_heads // c.num_key_value_heads}
    header = ["// A LLaMA model: %d layers, hidden %d, %d query heads and "
              "%d KV heads of %d," % (c.num_hidden_layers, c.hidden_size,
                                       c.num_attention_heads,
                                       c.num_key_value_heads, c.head_dim),
              "// MLP %d, vocabulary %d; caches of %d positions. Generated "
              "by sherry.llama." % (c.intermediate_size, c.vocab_size,
                                    max_context)]
    header += ["#%s = affine_map<%s>" % (k, m.format(**fmt))
               for k, m in _MAPS.items()]
    body = [model_function(c, f[0], f[1], max_context, f[2], marked,
                           f[3] if len(f) > 3 else "model", dense,
                           projection_type, kv_type)
            for f in functions]
    return "\n".join(header) + "\n" + "\n".join(body)
