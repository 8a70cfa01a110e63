"""Packed Sherry weights: quantize, inspect, unpack, save and load.

Every number comes from the C++ format library through libSherryCAPI.so;
this module converts arrays and names.
"""

import ctypes
import math
import operator
import os

import numpy as np

from . import _capi
from .errors import FormatError

LAYOUTS = ("sherry", "stq1_0", "tables")
#: Which K elements form a group (the canonical layouts).
GROUPINGS = ("sherry", "stq1_0")
GRANULARITIES = ("tensor", "row", "group")
SCALE_TYPES = ("f32", "f16")
#: The code orders of the tables layout, for the table kernels' lookups:
#: 'lanes' (vpshufb and tbl: AVX2, AVX-512BW, NEON), 'pairs' (vpermb,
#: AVX-512 VBMI), 'words' (vpermw, AVX-512).
TABLE_ORDERS = ("pairs", "lanes", "words")


def _index_of(options, value, what):
    if value not in options:
        raise ValueError("unknown %s %r; expected one of %s"
                         % (what, value, ", ".join(map(repr, options))))
    return options.index(value)


def _as_float_matrix(weights):
    """`weights` (numpy array, torch tensor or nested sequence) as a
    C-contiguous float32 M x K numpy array."""
    if hasattr(weights, "detach") and hasattr(weights, "numpy"):
        tensor = weights.detach().cpu()
        if not tensor.dtype.is_floating_point:
            raise TypeError("weights must be floating point, got a tensor "
                            "of %s" % tensor.dtype)
        # bfloat16 has no numpy type; widening to f32 is exact.
        weights = tensor.float().numpy()
    array = np.asarray(weights)
    if array.dtype.kind != "f":
        raise TypeError("weights must be floating point (float16, float32 "
                        "or float64), got %s" % array.dtype)
    if array.ndim != 2:
        raise FormatError("weights must be a 2-D M x K array (output "
                          "features x input features), got shape %s"
                          % (array.shape,))
    return np.ascontiguousarray(array, dtype=np.float32)


def _pointer(array):
    return ctypes.c_void_p(array.ctypes.data)


def _read_only(array):
    array.flags.writeable = False
    return array


class PackedWeights:
    """Weights in one of the packed layouts, owned by the C library.

    Made by :func:`quantize`, :func:`load`, :meth:`from_arrays` or
    :meth:`convert`; the arrays it returns are read-only copies.
    """

    def __init__(self, handle):
        # Use quantize(), load() or from_arrays().
        self._handle = handle
        self._cache = {}

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None and _capi is not None:
            _capi.lib().sherryPackedWeightsDestroy(handle)
            self._handle = None

    def _get(self, name):
        return getattr(_capi.lib(), "sherryPackedWeights" + name)(self._handle)

    @classmethod
    def from_arrays(cls, data, scales, shape, layout="sherry",
                    granularity="row", group_size=None, grouping="sherry",
                    table_order="lanes", tile_block=4):
        """Packed weights from their sections, e.g. the data and scales of
        a `.sherry` file read by other means. `data` is uint8 or int8 (any
        shape, rows * bytes-per-row bytes, or the tables layout's bytes),
        `scales` the f32 scales (none for stq1_0). `grouping`,
        `table_order` and `tile_block` describe the tables layout. The
        bytes are checked: sizes, every group must decode, and the tables
        layout's counts and padding rows must agree with its codes."""
        rows, cols = (operator.index(d) for d in shape)
        layout_id = _index_of(LAYOUTS, layout, "layout")
        granularity_id = _index_of(GRANULARITIES, granularity, "granularity")
        raw = np.ascontiguousarray(data)
        if raw.dtype not in (np.uint8, np.int8):
            raise TypeError("data must be uint8 or int8, got %s" % raw.dtype)
        raw = raw.view(np.uint8).reshape(-1)
        if scales is None:
            scales = np.zeros(0, np.float32)
        sc = np.ascontiguousarray(scales, dtype=np.float32).reshape(-1)
        handle = _capi.Handle()
        if layout == "tables":
            _capi.call(FormatError, "sherryPackedWeightsCreateTables",
                       _index_of(GROUPINGS, grouping, "grouping"),
                       _index_of(TABLE_ORDERS, table_order, "table order"),
                       operator.index(tile_block), granularity_id,
                       group_size or 0, rows, cols, _pointer(raw), raw.size,
                       _pointer(sc), sc.size, ctypes.byref(handle))
        else:
            _capi.call(FormatError, "sherryPackedWeightsCreate", layout_id,
                       granularity_id, group_size or 0, rows, cols,
                       _pointer(raw), raw.size, _pointer(sc), sc.size,
                       ctypes.byref(handle))
        return cls(handle)

    @property
    def layout(self):
        """'sherry', 'stq1_0' or 'tables'."""
        return LAYOUTS[self._get("GetLayout")]

    @property
    def grouping(self):
        """Which K elements form a group: 'sherry' or 'stq1_0' (the layout
        itself, except for 'tables')."""
        return GROUPINGS[self._get("GetGrouping")]

    @property
    def table_order(self):
        """The tables layout's code order ('lanes', 'pairs', 'words'), else
        None."""
        return (TABLE_ORDERS[self._get("GetTableOrder")]
                if self.layout == "tables" else None)

    @property
    def tile_block(self):
        """The tables layout's tile block, else None."""
        return self._get("GetTileBlock") or None

    @property
    def granularity(self):
        """'tensor', 'row' or 'group' (stq1_0: always 'group', G = 256)."""
        return GRANULARITIES[self._get("GetGranularity")]

    @property
    def group_size(self):
        """G for group granularity, else None."""
        g = self._get("GetGroupSize")
        return g if g else None

    @property
    def scale_type(self):
        """'f32' or 'f16' (stq1_0 always 'f16')."""
        return SCALE_TYPES[self._get("GetScaleType")]

    @property
    def shape(self):
        """(M, K) of the logical weight matrix."""
        return (self._get("GetRows"), self._get("GetCols"))

    @property
    def row_bytes(self):
        """Bytes per output row: 5K/32 (sherry) or 42K/256 (stq1_0); None
        for the tables layout, whose bytes are tiles of 32 rows."""
        return self._get("GetRowBytes") or None

    @property
    def data(self):
        """The packed bytes, uint8 of shape (M, row_bytes): what a compiled
        function takes as its `tensor<M x B x i8>` weights (view it as
        int8 or pass it as is). The tables layout's bytes are one flat
        array (`tensor<N x i8>`)."""
        if "data" not in self._cache:
            size = self._get("GetDataSize")
            ptr = self._get("GetData")
            buf = (ctypes.c_uint8 * size).from_address(ptr)
            array = np.array(buf, dtype=np.uint8, copy=True)
            if self.row_bytes is not None:
                array = array.reshape(self.shape[0], self.row_bytes)
            self._cache["data"] = _read_only(array)
        return self._cache["data"]

    @property
    def bytes(self):
        """The packed bytes as one flat uint8 array (the data section of a
        `.sherry` file)."""
        return self.data.reshape(-1)

    @property
    def scales(self):
        """The scales: shape (1,), (M,) or (M, K/G); stq1_0 the block
        scales, (M, K/256). float32, or float16 where scale_type is f16
        (the values are exact either way)."""
        if "scales" not in self._cache:
            n = self._get("GetNumScales")
            ptr = self._get("GetScales")
            buf = (ctypes.c_float * n).from_address(ptr)
            array = np.array(buf, dtype=np.float32, copy=True)
            rows, cols = self.shape
            granularity = self.granularity
            if granularity == "tensor":
                shape = (1,)
            elif granularity == "row":
                shape = (rows,)
            else:
                shape = (rows, cols // self.group_size)
            array = array.reshape(shape)
            if self.scale_type == "f16":
                array = array.astype(np.float16)
            self._cache["scales"] = _read_only(array)
        return self._cache["scales"]

    @property
    def bits_per_weight(self):
        """Storage per weight, bytes and scales counted."""
        return self._get("GetBitsPerWeight")

    @property
    def projection_error(self):
        """||W - W'|| / ||W|| of what is stored, for quantized weights (the
        relative-l2-error of `sherry-pack pack`); None where the original
        weights are unknown (loaded, converted or built from arrays)."""
        err = self._get("GetProjectionError")
        return None if math.isnan(err) else err

    def unpack(self):
        """The ternary values, int8 (M, K) in {-1, 0, +1}."""
        out = np.empty(self.shape, dtype=np.int8)
        _capi.call(FormatError, "sherryPackedWeightsUnpack", self._handle,
                   _pointer(out))
        return out

    def dequantize(self):
        """W'[m, k] = scale(m, k) * T[m, k] as float32 (M, K)."""
        out = np.empty(self.shape, dtype=np.float32)
        _capi.call(FormatError, "sherryPackedWeightsDequantize",
                   self._handle, _pointer(out))
        return out

    def save(self, path):
        """Writes a `.sherry` file (docs/format.md, section 6.1)."""
        _capi.call(FormatError, "sherryPackedWeightsSave", self._handle,
                   _capi.MlirStringRef.of(os.fspath(path)))

    def convert(self, layout, table_order="lanes", tile_block=4):
        """The same ternary weights in another layout (lossless; raises
        FormatError where the layouts' groupings disagree). To 'tables'
        the grouping is kept and the codes take `table_order` with tiles
        interleaved `tile_block` at a time (what a model compiled for the
        table kernels takes at run time: docs/format.md, section 3.3)."""
        handle = _capi.Handle()
        if layout == "tables":
            _capi.call(FormatError, "sherryPackedWeightsToTables",
                       self._handle,
                       _index_of(TABLE_ORDERS, table_order, "table order"),
                       operator.index(tile_block), ctypes.byref(handle))
        else:
            _capi.call(FormatError, "sherryPackedWeightsConvert",
                       self._handle, _index_of(GROUPINGS, layout, "layout"),
                       ctypes.byref(handle))
        return PackedWeights(handle)

    def __repr__(self):
        group = ("" if self.group_size is None
                 else ", group_size=%d" % self.group_size)
        tables = ("" if self.layout != "tables" else
                  ", grouping=%r, table_order=%r, tile_block=%d"
                  % (self.grouping, self.table_order, self.tile_block))
        return ("PackedWeights(layout=%r%s, shape=%s, granularity=%r%s, "
                "scale_type=%r, bits_per_weight=%.4f)"
                % (self.layout, tables, self.shape, self.granularity, group,
                   self.scale_type, self.bits_per_weight))


def quantize(weights, layout="sherry", granularity=None, group_size=None,
             scale_type=None, grouping="sherry", table_order="lanes",
             tile_block=4):
    """Ternarizes float weights by the exact L2 projection and packs them.

    weights:     M x K floats (numpy array or torch tensor), K input
                 features, as torch.nn.Linear.weight stores them.
    layout:      'sherry' (K % 32 == 0), 'stq1_0' (K % 256 == 0) or
                 'tables' (the table kernels' code order, grouped as
                 `grouping`, with `table_order` and `tile_block`: see
                 PackedWeights.convert).
    granularity: 'tensor', 'row' or 'group'; default 'row' for sherry and
                 'group' for stq1_0 (as `sherry-pack pack`). Giving
                 group_size implies 'group'.
    group_size:  G for 'group': default 128 for sherry, 256 for stq1_0
                 (which needs a multiple of 256).
    scale_type:  'f32' or 'f16' (scales rounded to half precision); default
                 'f32' for sherry. stq1_0 stores f16 scales in its blocks:
                 None or 'f16'.

    The bytes are those `sherry-pack pack` writes for the same weights and
    options. Raises FormatError on a bad shape, group size or a NaN/Inf
    weight (the message names its position).
    """
    w = _as_float_matrix(weights)
    _index_of(LAYOUTS, layout, "layout")
    if layout == "tables":
        return quantize(w, grouping, granularity, group_size,
                        scale_type).convert("tables", table_order, tile_block)
    layout_id = _index_of(LAYOUTS, layout, "layout")
    stq = layout == "stq1_0"
    if granularity is None:
        granularity = "group" if stq or group_size is not None else "row"
    granularity_id = _index_of(GRANULARITIES, granularity, "granularity")
    if granularity == "group":
        if group_size is None:
            group_size = 256 if stq else 128
        group_size = operator.index(group_size)
    elif group_size is not None:
        raise ValueError("group_size=%r needs granularity='group', not %r"
                         % (group_size, granularity))
    if scale_type is None:
        scale_type = "f16" if stq else "f32"
    scale_type_id = _index_of(SCALE_TYPES, scale_type, "scale type")
    if stq and scale_type != "f16":
        raise ValueError("the stq1_0 layout keeps one f16 scale per "
                         "256-element block inside its bytes; scale_type "
                         "must be 'f16' (or None), not %r" % scale_type)
    handle = _capi.Handle()
    _capi.call(FormatError, "sherryQuantize", _pointer(w), w.shape[0],
               w.shape[1], layout_id, granularity_id, group_size or 0,
               scale_type_id, ctypes.byref(handle))
    return PackedWeights(handle)


def load(path):
    """Reads and fully verifies a `.sherry` file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "no such file", path)
    handle = _capi.Handle()
    _capi.call(FormatError, "sherryPackedWeightsLoad",
               _capi.MlirStringRef.of(path), ctypes.byref(handle))
    return PackedWeights(handle)
