"""An independent numpy reading of docs/format.md, written from the text
(not from the C++ library), that the tests hold the package against."""

import numpy as np

# Section 2: code c as four 2-bit lanes, lane p at bits 2p..2p+1, q = t + 1.
CODEBOOK = bytes.fromhex(
    "A9 89 29 09 A6 86 26 06 9A 92 1A 12 6A 62 4A 42"
    "01 21 81 A1 04 24 84 A4 10 18 90 98 40 48 60 68")


def group_elements(layout, k):
    """(K/4, 4) array: the K indices of every group of a row, lane order
    (sections 3.1 and 3.2)."""
    g = np.arange(k // 4)
    if layout == "sherry":
        return 4 * g[:, None] + np.arange(4)[None, :]
    block, c, lane = g // 64, (g % 64) // 16, g % 16
    base = 256 * block + 64 * c + lane
    return base[:, None] + 16 * np.arange(4)[None, :]


def scale_region(granularity, group_size, m, k):
    """(M, K) array: the index of the scale of every weight."""
    rows = np.arange(m)[:, None]
    cols = np.arange(k)[None, :]
    if granularity == "tensor":
        return np.zeros((m, k), dtype=np.int64)
    if granularity == "row":
        return np.broadcast_to(rows, (m, k)).copy()
    return rows * (k // group_size) + cols // group_size


def ternarize(w, layout, granularity, group_size=None):
    """Section 1: the zero at the smallest |w| of each group (lowest lane
    on ties), sign(w) elsewhere with sign(0) = +1; each scale the mean |w|
    of the kept weights of its region. Returns (T int8, scales f32 flat)."""
    m, k = w.shape
    idx = group_elements(layout, k)              # (G, 4)
    lanes = np.abs(w[:, idx])                    # (M, G, 4)
    zero = np.argmin(lanes, axis=2)              # first minimum: lowest lane
    t = np.where(w < 0, -1, 1).astype(np.int8)
    rows = np.arange(m)[:, None]
    t[rows, idx[np.arange(idx.shape[0])[None, :], zero]] = 0
    region = scale_region(granularity, group_size, m, k)
    kept = t != 0
    n = region.max() + 1
    sums = np.bincount(region[kept],
                       weights=np.abs(w[kept]).astype(np.float64),
                       minlength=n)
    counts = np.bincount(region[kept], minlength=n)
    scales = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return t, scales.astype(np.float32)


def decode_code(code):
    byte = CODEBOOK[code]
    return [((byte >> (2 * p)) & 3) - 1 for p in range(4)]


def encode_group(t):
    """Section 2: (sign << 4) | (z << 2) | (b1 << 1) | b0."""
    z = [p for p in range(4) if t[p] == 0]
    assert len(z) == 1
    n = [p for p in range(4) if t[p] != 0]
    sign = 1 if t[n[0]] < 0 else 0
    b0 = 1 if t[n[1]] != t[n[0]] else 0
    b1 = 1 if t[n[2]] != t[n[0]] else 0
    return (sign << 4) | (z[0] << 2) | (b1 << 1) | b0


def decode_sherry_rows(data, k):
    """Section 3.1: per row K/8 slot bytes, then K/32 sign bytes."""
    m = data.shape[0]
    t = np.zeros((m, k), dtype=np.int8)
    groups = k // 4
    for row in range(m):
        slots, signs = data[row, :k // 8], data[row, k // 8:]
        for g in range(groups):
            slot = (slots[g // 2] >> (4 * (g % 2))) & 0xF
            sign = (signs[g // 8] >> (g % 8)) & 1
            t[row, 4 * g:4 * g + 4] = decode_code((sign << 4) | slot)
    return t


def decode_stq1_0_rows(data, k):
    """Section 3.2: 42-byte blocks qs[32], sign[8], f16 d. Returns (T, the
    block scales (M, K/256) as float32)."""
    m = data.shape[0]
    t = np.zeros((m, k), dtype=np.int8)
    d = np.zeros((m, k // 256), dtype=np.float32)
    idx = group_elements("stq1_0", 256)
    for row in range(m):
        for b in range(k // 256):
            block = data[row, 42 * b:42 * b + 42]
            d[row, b] = block[40:42].copy().view("<f2")[0]
            for g in range(64):
                slot = (block[g // 2] >> (4 * (g % 2))) & 0xF
                sign = (block[32 + g // 8] >> (g % 8)) & 1
                t[row, 256 * b + idx[g]] = decode_code((sign << 4) | slot)
    return t, d


def quantize_activations(x):
    """Section 7, per row: scale = absmax / 127 and q = round half to even
    of x * (127 / absmax), clamped to +-127; rows where 127 / absmax
    overflows (all zero, or below about 3.7e-37): 0 and 0."""
    x = x.astype(np.float32)
    absmax = np.max(np.abs(x), axis=1)
    with np.errstate(divide="ignore", over="ignore"):
        mult = np.float32(127) / absmax
    zero = np.isinf(mult)
    safe = np.where(zero, np.float32(1), absmax)
    scale = np.where(zero, np.float32(0), absmax / np.float32(127))
    mult = np.float32(127) / safe
    q = np.clip(np.rint(x * mult[:, None]), -127, 127)
    q = np.where(zero[:, None], 0, q)
    return q.astype(np.int32), scale.astype(np.float32)


def matmul_int8(x, t, scale_of, step, init=None, bias=None):
    """Section 7: K cut at every boundary of a weight-scale region (every
    `step` elements; per-row activations add no cut); per segment an exact
    int32 sum of q * t, then acc += (float)isum * alpha * xscale in f32,
    left to right, in increasing K. `scale_of` is the (M, K) array of each
    weight's scale. sherry.matmul adds the result to `init`, then adds
    `bias`, in f32."""
    q, xs = quantize_activations(x)
    m, k = t.shape
    acc = np.zeros((x.shape[0], m), dtype=np.float32)
    for a in range(0, k, step):
        b = a + step
        isum = q[:, a:b] @ t[:, a:b].astype(np.int32).T      # exact int32
        alpha = scale_of[:, a].astype(np.float32)
        term = isum.astype(np.float32) * alpha[None, :]
        term = term * xs[:, None]
        acc = acc + term
    y = acc if init is None else init.astype(np.float32) + acc
    if bias is not None:
        y = y + bias.astype(np.float32)[None, :]
    return y


def matmul_reference(x, packed, mode, init=None, bias=None):
    """y = init + x * W'^T (+ bias) from the bytes of `packed` decoded by
    this module, in the int8 arithmetic of section 7 or in float64."""
    m, k = packed.shape
    data = np.asarray(packed.data)
    if packed.layout == "sherry":
        t = decode_sherry_rows(data, k)
        scales = np.asarray(packed.scales, dtype=np.float32)
        granularity, g = packed.granularity, packed.group_size
    else:
        t, scales = decode_stq1_0_rows(data, k)
        granularity, g = "group", 256
    region = scale_region(granularity, g, m, k)
    scale_of = scales.reshape(-1)[region]
    if mode == "exact":
        y = x.astype(np.float64) @ (scale_of.astype(np.float64) * t).T
        y = y.astype(np.float32)
        if init is not None:
            y = init + y
        if bias is not None:
            y = y + bias[None, :]
        return y
    step = g if granularity == "group" else k
    return matmul_int8(x, t, scale_of, step, init, bias)
