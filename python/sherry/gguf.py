"""GGUF files: llama.cpp's container, with STQ1_0 tensors as PackedWeights.

Read a published STQ1_0 model's tensors as :class:`PackedWeights` (to
compile them) or numpy arrays, and write packed weights back into a GGUF
file. Parsing, checking and writing happen in the C++ format library
(through libSherryCAPI.so); loading a file and saving it gives the same
bytes. See docs/python.md and docs/format.md, section 6.3.

STQ1_0 is not in upstream ggml: its tensors are read and written as ggml
type :data:`STQ1_0_TYPE` (42, the id of the published models) unless
``stq1_0_type`` says otherwise.
"""

import collections
import ctypes
import os
import struct
import weakref

import numpy as np

from . import _capi
from .errors import FormatError
from .format import PackedWeights

#: GGUF metadata value types, indexed by their id in the file.
VALUE_TYPES = ("u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
               "string", "array", "u64", "i64", "f64")

_STRUCT = {"u8": "<B", "i8": "<b", "u16": "<H", "i16": "<h", "u32": "<I",
           "i32": "<i", "f32": "<f", "bool": "<B", "u64": "<Q", "i64": "<q",
           "f64": "<d"}
_NUMPY = {"u8": "<u1", "i8": "<i1", "u16": "<u2", "i16": "<i2",
          "u32": "<u4", "i32": "<i4", "f32": "<f4", "bool": "<u1",
          "u64": "<u8", "i64": "<i8", "f64": "<f8"}
_FROM_NUMPY = {np.dtype(v): k for k, v in _NUMPY.items() if k != "bool"}
_FROM_NUMPY[np.dtype(np.bool_)] = "bool"

#: ggml type ids of the float tensors.
F32, F16, BF16 = 0, 1, 30

TensorInfo = collections.namedtuple(
    "TensorInfo", ["name", "type", "type_id", "dims", "shape", "nbytes"])
TensorInfo.__doc__ = """One tensor of a GGUF file.

name:    the tensor's name (bytes where it is not UTF-8)
type:    the ggml type name ('f32', 'q8_0', 'stq1_0', ...)
type_id: the ggml type id
dims:    the dims as GGUF lists them, innermost first ({K, M} for M x K)
shape:   the numpy shape, dims reversed ((M, K))
nbytes:  bytes of data"""


def _default_stq1_0_type():
    return _capi.lib().sherryGgufDefaultStq1Type()


def _name(ref):
    """A key or tensor name as the file has it: a str where its bytes are
    UTF-8 (as GGUF asks), else the bytes themselves, so that every name
    looks itself up and writes back unchanged."""
    raw = ctypes.string_at(ref.data, ref.length) if ref.length else b""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


class _Bytes:
    """An MlirStringCallback that keeps the raw bytes it is given."""

    def __init__(self):
        self.data = b""
        self.callback = _capi.STRING_CALLBACK(self._append)

    def _append(self, ref, _user_data):
        if ref.length:
            self.data += ctypes.string_at(ref.data, ref.length)


#
# The GGUF encoding of one value (u32 value type, then the value), which is
# how metadata crosses the C API.
#

def _parse_type(type_name):
    """'u32' -> ('u32', None); 'array[string]' -> ('array', 'string')."""
    if type_name.startswith("array[") and type_name.endswith("]"):
        element = type_name[6:-1]
        if element in VALUE_TYPES:
            return "array", element
    elif type_name in VALUE_TYPES and type_name != "array":
        return type_name, None
    raise ValueError("unknown GGUF value type %r; expected one of %s or "
                     "'array[<type>]'" % (type_name, ", ".join(
                         repr(t) for t in VALUE_TYPES if t != "array")))


def _decode_payload(kind, data, pos):
    """Decodes a value of type `kind` at `pos`: (value, type name, end)."""
    if kind == "string":
        (n,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        raw = data[pos:pos + n]
        return raw.decode("utf-8", "surrogateescape"), "string", pos + n
    if kind != "array":
        fmt = _STRUCT[kind]
        (v,) = struct.unpack_from(fmt, data, pos)
        if kind == "bool":
            v = bool(v)
        return v, kind, pos + struct.calcsize(fmt)
    element, n = struct.unpack_from("<IQ", data, pos)
    element = VALUE_TYPES[element]
    pos += 12
    if element in _NUMPY:
        size = np.dtype(_NUMPY[element]).itemsize
        items = np.frombuffer(data, _NUMPY[element], n, pos).copy()
        if element == "bool":
            items = items.astype(np.bool_)
        return items, "array[%s]" % element, pos + n * size
    items = []
    for _ in range(n):
        item, _type, pos = _decode_payload(element, data, pos)
        items.append(item)
    return items, "array[%s]" % element, pos


def _decode(data):
    (type_id,) = struct.unpack_from("<I", data, 0)
    value, type_name, _ = _decode_payload(VALUE_TYPES[type_id], data, 4)
    return value, type_name


def _infer_type(value):
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "u32" if 0 <= value < 1 << 32 else "i64"
    if isinstance(value, (float, np.floating)):
        return "f32"
    if isinstance(value, str):
        return "string"
    if isinstance(value, np.ndarray):
        if value.dtype not in _FROM_NUMPY:
            raise TypeError("no GGUF array type for numpy %s" % value.dtype)
        return "array[%s]" % _FROM_NUMPY[value.dtype]
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, str) for v in value):
            return "array[string]"
        if all(isinstance(v, (bool, np.bool_)) for v in value):
            return "array[bool]"
        if all(isinstance(v, (int, np.integer)) for v in value):
            return "array[i32]"
        if all(isinstance(v, (float, int)) for v in value):
            return "array[f32]"
    raise TypeError("cannot infer a GGUF type for %r; pass type=" % (value,))


def _encode_payload(kind, element, value):
    if kind == "string":
        raw = value.encode("utf-8", "surrogateescape")
        return struct.pack("<Q", len(raw)) + raw
    if kind != "array":
        return struct.pack(_STRUCT[kind], value)
    if element in _NUMPY:
        items = np.asarray(value)
        if element == "bool":
            items = items.astype(np.bool_)
        items = np.ascontiguousarray(items.reshape(-1), _NUMPY[element])
        body = items.tobytes()
        count = items.size
    elif element == "string":
        body = b"".join(_encode_payload("string", None, v) for v in value)
        count = len(value)
    else:
        # An array of arrays: each element is a (type, values) pair.
        parts = []
        for item in value:
            item_type, item_value = item
            sub_kind, sub_element = _parse_type(item_type)
            if sub_kind != "array":
                raise ValueError("the elements of an array[array] are "
                                 "arrays, not %r" % item_type)
            parts.append(_encode_payload(sub_kind, sub_element, item_value))
        body = b"".join(parts)
        count = len(value)
    return struct.pack("<IQ", VALUE_TYPES.index(element), count) + body


def _encode(value, type_name):
    kind, element = _parse_type(type_name)
    return (struct.pack("<I", VALUE_TYPES.index(kind)) +
            _encode_payload(kind, element, value))


class GgufFile:
    """A GGUF file in memory: metadata and tensors, owned by the C library.

    Made by :func:`load` or ``GgufFile()`` (an empty version-3 file).
    ``stq1_0_type`` is the ggml type id of STQ1_0 tensors.
    """

    def __init__(self, stq1_0_type=None, _handle=None):
        if _handle is None:
            _handle = _capi.Handle()
            if stq1_0_type is None:
                stq1_0_type = _default_stq1_0_type()
            _capi.call(FormatError, "sherryGgufCreate", stq1_0_type,
                       ctypes.byref(_handle))
        self._handle = _handle

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None and _capi is not None:
            _capi.lib().sherryGgufDestroy(handle)
            self._handle = None

    def _call(self, name, *args):
        return getattr(_capi.lib(), "sherryGguf" + name)(self._handle, *args)

    @property
    def version(self):
        """The GGUF version (2 or 3)."""
        return self._call("GetVersion")

    @property
    def stq1_0_type(self):
        """The ggml type id read and written as STQ1_0."""
        return self._call("GetStq1Type")

    @property
    def alignment(self):
        """general.alignment, 32 when absent."""
        return self._call("GetAlignment")

    #
    # Metadata
    #

    def keys(self):
        """The metadata keys, in file order: str, or bytes where a key is
        not UTF-8. Every method taking a key or a tensor name takes either."""
        return [_name(self._call("GetMetadataKey", i))
                for i in range(self._call("GetNumMetadata"))]

    def _metadata_at(self, index):
        sink = _Bytes()
        self._call("GetMetadataValue", index, sink.callback, None)
        return _decode(sink.data)

    def _index_of_key(self, key):
        index = self._call("FindMetadata", _capi.MlirStringRef.of(key))
        if index < 0:
            raise KeyError(key)
        return index

    @property
    def metadata(self):
        """The metadata as a dict (in file order): numbers, bools and
        strings as Python values, arrays of numbers as numpy arrays, arrays
        of strings and of arrays as lists. A fresh copy each time; change
        it with :meth:`set_metadata`."""
        return {key: self._metadata_at(i)[0]
                for i, key in enumerate(self.keys())}

    def metadata_type(self, key):
        """The GGUF type of a value: 'u32', 'string', 'array[i32]', ..."""
        return self._metadata_at(self._index_of_key(key))[1]

    def set_metadata(self, key, value, type=None):
        """Sets `key` (in place, or appended). `type` is a GGUF type name
        ('u8' .. 'f64', 'bool', 'string', 'array[<type>]'); without it,
        bool -> 'bool', int -> 'u32' (or 'i64' outside 0..2**32-1), float
        -> 'f32', str -> 'string', a list of str -> 'array[string]', a
        numpy array -> the array of its dtype. The elements of an
        'array[array]' are (type, values) pairs."""
        if type is None:
            type = _infer_type(value)
        try:
            data = _encode(value, type)
        except (struct.error, OverflowError) as e:
            raise ValueError("%r does not fit GGUF type %s: %s"
                             % (value, type, e)) from None
        buf = np.frombuffer(data, np.uint8)
        _capi.call(FormatError, "sherryGgufSetMetadataValue", self._handle,
                   _capi.MlirStringRef.of(key), buf.ctypes.data, buf.size)

    def remove_metadata(self, key):
        """Removes `key` (KeyError when absent)."""
        if not self._call("RemoveMetadata", _capi.MlirStringRef.of(key)):
            raise KeyError(key)

    #
    # Tensors
    #

    def _info(self, index):
        rank = self._call("GetTensorRank", index)
        dims = tuple(self._call("GetTensorDim", index, d)
                     for d in range(rank))
        return TensorInfo(
            name=_name(self._call("GetTensorName", index)),
            type=str(self._call("GetTensorTypeName", index)),
            type_id=self._call("GetTensorType", index),
            dims=dims, shape=tuple(reversed(dims)),
            nbytes=self._call("GetTensorDataSize", index))

    @property
    def tensors(self):
        """Every tensor's :class:`TensorInfo`, in file order."""
        return [self._info(i) for i in range(self._call("GetNumTensors"))]

    @property
    def tensor_names(self):
        return [t.name for t in self.tensors]

    def _index(self, name):
        index = self._call("FindTensor", _capi.MlirStringRef.of(name))
        if index < 0:
            raise KeyError("no tensor named %r" % name)
        return index

    def __contains__(self, name):
        return self._call("FindTensor", _capi.MlirStringRef.of(name)) >= 0

    def tensor(self, name):
        """The :class:`TensorInfo` of `name` (KeyError when absent)."""
        return self._info(self._index(name))

    def packed(self, name):
        """The STQ1_0 tensor `name` as :class:`PackedWeights` (layout
        'stq1_0', shape (M, K) for dims {K, M}), ready for
        :func:`sherry.compile`. Raises FormatError for another type or a
        NaN/Inf block scale."""
        handle = _capi.Handle()
        _capi.call(FormatError, "sherryGgufGetTensorPacked", self._handle,
                   self._index(name), ctypes.byref(handle))
        return PackedWeights(handle)

    def numpy(self, name):
        """An f32, f16 or bf16 tensor as float32, numpy shape (dims
        reversed); exact."""
        info = self.tensor(name)
        out = np.empty(info.shape, dtype=np.float32)
        _capi.call(FormatError, "sherryGgufGetTensorFloats", self._handle,
                   self._index(name), ctypes.c_void_p(out.ctypes.data))
        return out

    def raw(self, name):
        """The tensor's bytes (a uint8 copy), any type."""
        index = self._index(name)
        size = self._call("GetTensorDataSize", index)
        if not size:
            return np.zeros(0, np.uint8)
        buf = (ctypes.c_uint8 * size).from_address(
            self._call("GetTensorData", index))
        return np.array(buf, dtype=np.uint8, copy=True)

    def take_raw(self, name):
        """The tensor's bytes as a uint8 array that owns them, moved out of
        the file without a copy: the tensor stays, with no bytes, until
        :meth:`remove_tensor` (a file that still has it cannot be saved).
        What a loader uses to never hold two copies of a tensor."""
        index = self._index(name)
        owner, data, size = _capi.Handle(), ctypes.c_void_p(), ctypes.c_int64()
        _capi.call(FormatError, "sherryGgufTakeTensorData", self._handle,
                   index, ctypes.byref(owner), ctypes.byref(data),
                   ctypes.byref(size))
        if not size.value:
            _capi.lib().sherryBytesDestroy(owner)
            return np.zeros(0, np.uint8)
        buf = (ctypes.c_uint8 * size.value).from_address(data.value)
        # The bytes go when the last array viewing them does.
        weakref.finalize(buf, _capi.lib().sherryBytesDestroy, owner)
        return np.frombuffer(buf, dtype=np.uint8)

    def set_packed(self, name, packed):
        """Sets the tensor `name` (in place, or appended) to STQ1_0 weights
        (a PackedWeights in the 'stq1_0' layout)."""
        if not isinstance(packed, PackedWeights):
            raise TypeError("expected PackedWeights, got %s"
                            % type(packed).__name__)
        _capi.call(FormatError, "sherryGgufSetTensorPacked", self._handle,
                   _capi.MlirStringRef.of(name), packed._handle)

    def set_array(self, name, array, type=None):
        """Sets the tensor `name` to a float array: 'f32' or 'f16' (default:
        f16 for float16 arrays, else f32); GGUF dims are the numpy shape
        reversed."""
        array = np.asarray(array)
        if array.dtype.kind != "f":
            raise TypeError("expected a float array, got %s" % array.dtype)
        if type is None:
            type = "f16" if array.dtype == np.float16 else "f32"
        if type not in ("f32", "f16"):
            raise ValueError("type must be 'f32' or 'f16', not %r" % type)
        dtype = "<f4" if type == "f32" else "<f2"
        self.set_raw(name, tuple(reversed(array.shape)),
                     F32 if type == "f32" else F16,
                     np.ascontiguousarray(array, dtype).view(np.uint8))

    def set_raw(self, name, dims, type_id, data):
        """Sets the tensor `name` to raw bytes of ggml type `type_id` with
        GGUF `dims` (innermost first); the size must match."""
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(-1)
        dims_c = (ctypes.c_uint64 * max(len(dims), 1))(*dims)
        _capi.call(FormatError, "sherryGgufSetTensorData", self._handle,
                   _capi.MlirStringRef.of(name), len(dims), dims_c,
                   type_id, ctypes.c_void_p(raw.ctypes.data), raw.size)

    def remove_tensor(self, name):
        """Removes the tensor `name` (KeyError when absent)."""
        if not self._call("RemoveTensor", _capi.MlirStringRef.of(name)):
            raise KeyError("no tensor named %r" % name)

    def save(self, path):
        """Writes the file (refused, writing nothing, where a reader would
        refuse it)."""
        _capi.call(FormatError, "sherryGgufSave", self._handle,
                   _capi.MlirStringRef.of(os.fspath(path)))

    def __repr__(self):
        return ("GgufFile(version=%d, metadata=%d, tensors=%d)"
                % (self.version, self._call("GetNumMetadata"),
                   self._call("GetNumTensors")))


def load(path, stq1_0_type=None):
    """Reads and verifies a GGUF file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "no such file", path)
    if stq1_0_type is None:
        stq1_0_type = _default_stq1_0_type()
    handle = _capi.Handle()
    _capi.call(FormatError, "sherryGgufLoad", _capi.MlirStringRef.of(path),
               stq1_0_type, ctypes.byref(handle))
    return GgufFile(_handle=handle)


def stq1_0_type_collision(stq1_0_type):
    """What a ggml that postdates the STQ1_0 files numbers `stq1_0_type`
    (the default 42 is upstream's Q2_0 since July 2026), as a phrase that
    follows "type id N is"; None where no ggml gives the id to another
    type. A file whose STQ1_0 tensors have such an id is refused by that
    ggml."""
    sink = _capi.StringSink()
    if _capi.lib().sherryGgufDescribeStq1TypeCollision(
            int(stq1_0_type), sink.callback, None):
        return sink.text
    return None


def __getattr__(name):
    # STQ1_0_TYPE comes from the C library, loaded on first use.
    if name == "STQ1_0_TYPE":
        return _default_stq1_0_type()
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
