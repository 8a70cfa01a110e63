"""Reading and writing Hugging Face safetensors files with numpy: an 8-byte
little-endian header length, a JSON header ({name: {"dtype", "shape",
"data_offsets"}, optional "__metadata__"}), then the raw tensors."""

import json
import os
import struct

import numpy as np

from .errors import FormatError

# safetensors dtype -> numpy dtype (BF16 is read as its uint16 bits and
# widened to float32).
_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16,
           "BF16": np.uint16, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items() if k != "BF16"}
# A header larger than this is refused (the format's own reference limit).
_MAX_HEADER = 100 * 1024 * 1024


def _bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def load(path, names=None, bf16_as_f32=True):
    """{name: numpy array} of the tensors in `path` (all, or those in
    `names`); read_metadata() has the file's "__metadata__". Arrays are
    read-only views of a memory map; BF16 tensors are widened to float32
    copies (bf16_as_f32) or left as their uint16 bits. Raises FormatError
    naming what is wrong with the file."""
    header, data_start = _read_header(path)
    size = os.path.getsize(path)
    mapped = np.memmap(path, dtype=np.uint8, mode="r") if size else None
    out = {}
    for name, entry in header.items():
        if name == "__metadata__" or (names is not None and name not in names):
            continue
        dtype, shape, (begin, end) = _check_entry(name, entry)
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(
            _DTYPES[dtype]).itemsize
        if end - begin != nbytes:
            raise FormatError("%s: %s: data_offsets span %d bytes; %s %s "
                              "needs %d" % (path, name, end - begin, dtype,
                                            list(shape), nbytes))
        if data_start + end > size:
            raise FormatError("%s: %s: its data ends at byte %d, past the "
                              "end of the file (%d bytes)"
                              % (path, name, data_start + end, size))
        raw = mapped[data_start + begin:data_start + end]
        array = raw.view(np.ndarray).view(_DTYPES[dtype]).reshape(shape)
        if dtype == "BF16" and bf16_as_f32:
            array = _bf16_to_f32(array)
        out[name] = array
    if names is not None:
        missing = sorted(set(names) - set(out))
        if missing:
            raise FormatError("%s has no tensor %s" % (path, missing[0]))
    return out


def read_metadata(path):
    """The file's "__metadata__" ({str: str}), or {}."""
    header, _ = _read_header(path)
    return dict(header.get("__metadata__") or {})


def _read_header(path):
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise FormatError("%s: too short for a safetensors file"
                              % path)
        (length,) = struct.unpack("<Q", head)
        size = os.fstat(f.fileno()).st_size
        if length > min(_MAX_HEADER, size - 8):
            raise FormatError("%s: the header length (%d bytes) exceeds "
                              "the file or %d bytes" % (path, length,
                                                        _MAX_HEADER))
        text = f.read(length)
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise FormatError("%s: the header is not JSON: %s" % (path, e))
    if not isinstance(header, dict):
        raise FormatError("%s: the header is not a JSON object" % path)
    return header, 8 + length


def _check_entry(name, entry):
    if not isinstance(entry, dict):
        raise FormatError("tensor %s: its header entry is not an object"
                          % name)
    dtype = entry.get("dtype")
    if dtype not in _DTYPES:
        raise FormatError("tensor %s: dtype %r is not supported (%s)"
                          % (name, dtype, ", ".join(_DTYPES)))
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if (not isinstance(shape, list) or
            not all(isinstance(d, int) and d >= 0 for d in shape)):
        raise FormatError("tensor %s: bad shape %r" % (name, shape))
    if (not isinstance(offsets, list) or len(offsets) != 2 or
            not all(isinstance(o, int) and o >= 0 for o in offsets) or
            offsets[0] > offsets[1]):
        raise FormatError("tensor %s: bad data_offsets %r" % (name, offsets))
    return dtype, tuple(shape), tuple(offsets)


def save(path, tensors, metadata=None):
    """Writes {name: numpy array} (F64/F32/F16/integer/bool) as a
    safetensors file, tensors in name order, 8-byte aligned."""
    header, offset, arrays = {}, 0, []
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in
                                  metadata.items()}
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        if array.dtype not in _NAMES:
            raise FormatError("tensor %s: dtype %s cannot be written"
                              % (name, array.dtype))
        header[name] = {"dtype": _NAMES[array.dtype],
                        "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
        arrays.append(array)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for array in arrays:
            f.write(array.tobytes())
