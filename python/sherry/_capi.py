"""ctypes declarations of libSherryCAPI.so (include/sherry-c/*.h).

The library is found, in order, at $SHERRY_CAPI_LIBRARY, where
``pip install`` found it (``_location.py``, written by setup.py), in an
install tree (the package installs to PREFIX/lib/python/sherry, the library
to PREFIX/lib), or in the ``build*/lib`` directories of the source tree this
package lives in.
"""

import ctypes
import glob
import os
import threading

from .errors import SherryError

_LIBRARY_NAME = "libSherryCAPI.so"


class MlirStringRef(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("length", ctypes.c_size_t)]

    @classmethod
    def of(cls, text):
        """A string ref to `text` (str or bytes); keep the result alive."""
        raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        buf = ctypes.create_string_buffer(raw, len(raw))
        ref = cls(ctypes.cast(buf, ctypes.c_void_p), len(raw))
        ref._keep = buf
        return ref

    def __str__(self):
        if not self.length:
            return ""
        return ctypes.string_at(self.data, self.length).decode(
            "utf-8", "replace")


class MlirLogicalResult(ctypes.Structure):
    _fields_ = [("value", ctypes.c_int8)]

    def __bool__(self):
        return self.value != 0


class Handle(ctypes.Structure):
    """SherryPackedWeights, SherryExecutable: { void *ptr; }."""
    _fields_ = [("ptr", ctypes.c_void_p)]


class SherryValueType(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int),
                ("element_type", ctypes.c_int),
                ("rank", ctypes.c_ssize_t),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("name", MlirStringRef)]


STRING_CALLBACK = ctypes.CFUNCTYPE(None, MlirStringRef, ctypes.c_void_p)


class StringSink:
    """Collects what a C function hands to an MlirStringCallback."""

    def __init__(self):
        self._parts = []
        self.callback = STRING_CALLBACK(self._append)

    def _append(self, ref, _user_data):
        self._parts.append(str(ref))

    @property
    def text(self):
        return "".join(self._parts)

    @classmethod
    def for_thread(cls):
        """This thread's sink, emptied: one callback object for every call
        from a thread (a compiled function may run in several at once)."""
        sink = getattr(_THREAD_SINKS, "sink", None)
        if sink is None:
            sink = _THREAD_SINKS.sink = cls()
        sink._parts.clear()
        return sink


_THREAD_SINKS = threading.local()


def _candidates():
    env = os.environ.get("SHERRY_CAPI_LIBRARY")
    if env:
        yield env
        return
    try:                      # a pip-installed package: what setup.py found
        from ._location import LIBRARY
        yield LIBRARY
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    parent = os.path.dirname(here)
    yield os.path.join(os.path.dirname(parent), _LIBRARY_NAME)
    root = os.path.dirname(parent)
    for build in sorted(glob.glob(os.path.join(root, "build*"))):
        yield os.path.join(build, "lib", _LIBRARY_NAME)


def _load():
    tried = []
    for path in _candidates():
        if os.path.exists(path):
            return ctypes.CDLL(path)
        tried.append(path)
    raise SherryError(
        "cannot find %s (looked at %s); build it with 'cmake --build build' "
        "or point SHERRY_CAPI_LIBRARY at it" % (_LIBRARY_NAME,
                                                ", ".join(tried)))


_lib = None

_ERR = [STRING_CALLBACK, ctypes.c_void_p]
_I64 = ctypes.c_int64
_P = ctypes.c_void_p

# name: (restype, argtypes)
_SIGNATURES = {
    "sherryQuantize": (MlirLogicalResult, [
        _P, _I64, _I64, ctypes.c_int, ctypes.c_int, _I64, ctypes.c_int,
        ctypes.POINTER(Handle)] + _ERR),
    "sherryPackedWeightsCreate": (MlirLogicalResult, [
        ctypes.c_int, ctypes.c_int, _I64, _I64, _I64, _P, _I64, _P, _I64,
        ctypes.POINTER(Handle)] + _ERR),
    "sherryPackedWeightsLoad": (MlirLogicalResult, [
        MlirStringRef, ctypes.POINTER(Handle)] + _ERR),
    "sherryPackedWeightsSave": (MlirLogicalResult, [
        Handle, MlirStringRef] + _ERR),
    "sherryPackedWeightsConvert": (MlirLogicalResult, [
        Handle, ctypes.c_int, ctypes.POINTER(Handle)] + _ERR),
    "sherryPackedWeightsToTables": (MlirLogicalResult, [
        Handle, ctypes.c_int, _I64, ctypes.POINTER(Handle)] + _ERR),
    "sherryPackedWeightsCreateTables": (MlirLogicalResult, [
        ctypes.c_int, ctypes.c_int, _I64, ctypes.c_int, _I64, _I64, _I64, _P,
        _I64, _P, _I64, ctypes.POINTER(Handle)] + _ERR),
    "sherryPackedWeightsDestroy": (None, [Handle]),
    "sherryPackedWeightsGetGrouping": (ctypes.c_int, [Handle]),
    "sherryPackedWeightsGetTableOrder": (ctypes.c_int, [Handle]),
    "sherryPackedWeightsGetTileBlock": (_I64, [Handle]),
    "sherryPackedWeightsGetLayout": (ctypes.c_int, [Handle]),
    "sherryPackedWeightsGetGranularity": (ctypes.c_int, [Handle]),
    "sherryPackedWeightsGetGroupSize": (_I64, [Handle]),
    "sherryPackedWeightsGetScaleType": (ctypes.c_int, [Handle]),
    "sherryPackedWeightsGetRows": (_I64, [Handle]),
    "sherryPackedWeightsGetCols": (_I64, [Handle]),
    "sherryPackedWeightsGetData": (_P, [Handle]),
    "sherryPackedWeightsGetDataSize": (_I64, [Handle]),
    "sherryPackedWeightsGetRowBytes": (_I64, [Handle]),
    "sherryPackedWeightsGetScales": (_P, [Handle]),
    "sherryPackedWeightsGetNumScales": (_I64, [Handle]),
    "sherryPackedWeightsGetBitsPerWeight": (ctypes.c_double, [Handle]),
    "sherryPackedWeightsGetProjectionError": (ctypes.c_double, [Handle]),
    "sherryPackedWeightsUnpack": (MlirLogicalResult, [Handle, _P] + _ERR),
    "sherryPackedWeightsDequantize": (MlirLogicalResult, [Handle, _P] + _ERR),
    "sherryGgufDefaultStq1Type": (ctypes.c_uint32, []),
    "sherryGgufCreate": (MlirLogicalResult, [
        ctypes.c_uint32, ctypes.POINTER(Handle)] + _ERR),
    "sherryGgufLoad": (MlirLogicalResult, [
        MlirStringRef, ctypes.c_uint32, ctypes.POINTER(Handle)] + _ERR),
    "sherryGgufSave": (MlirLogicalResult, [Handle, MlirStringRef] + _ERR),
    "sherryGgufDestroy": (None, [Handle]),
    "sherryGgufGetVersion": (ctypes.c_uint32, [Handle]),
    "sherryGgufGetStq1Type": (ctypes.c_uint32, [Handle]),
    "sherryGgufGetAlignment": (ctypes.c_uint64, [Handle]),
    "sherryGgufGetNumMetadata": (ctypes.c_ssize_t, [Handle]),
    "sherryGgufGetMetadataKey": (MlirStringRef, [Handle, ctypes.c_ssize_t]),
    "sherryGgufFindMetadata": (ctypes.c_ssize_t, [Handle, MlirStringRef]),
    "sherryGgufGetMetadataValue": (None, [
        Handle, ctypes.c_ssize_t, STRING_CALLBACK, _P]),
    "sherryGgufSetMetadataValue": (MlirLogicalResult, [
        Handle, MlirStringRef, _P, _I64] + _ERR),
    "sherryGgufRemoveMetadata": (ctypes.c_bool, [Handle, MlirStringRef]),
    "sherryGgufGetNumTensors": (ctypes.c_ssize_t, [Handle]),
    "sherryGgufFindTensor": (ctypes.c_ssize_t, [Handle, MlirStringRef]),
    "sherryGgufGetTensorName": (MlirStringRef, [Handle, ctypes.c_ssize_t]),
    "sherryGgufGetTensorType": (ctypes.c_uint32, [Handle, ctypes.c_ssize_t]),
    "sherryGgufGetTensorTypeName": (MlirStringRef,
                                    [Handle, ctypes.c_ssize_t]),
    "sherryGgufGetTensorRank": (ctypes.c_ssize_t, [Handle, ctypes.c_ssize_t]),
    "sherryGgufGetTensorDim": (ctypes.c_uint64, [
        Handle, ctypes.c_ssize_t, ctypes.c_ssize_t]),
    "sherryGgufGetTensorData": (_P, [Handle, ctypes.c_ssize_t]),
    "sherryGgufGetTensorDataSize": (_I64, [Handle, ctypes.c_ssize_t]),
    "sherryGgufTakeTensorData": (MlirLogicalResult, [
        Handle, ctypes.c_ssize_t, ctypes.POINTER(Handle),
        ctypes.POINTER(_P), ctypes.POINTER(_I64)] + _ERR),
    "sherryBytesDestroy": (None, [Handle]),
    "sherryGgufGetTensorPacked": (MlirLogicalResult, [
        Handle, ctypes.c_ssize_t, ctypes.POINTER(Handle)] + _ERR),
    "sherryGgufGetTensorFloats": (MlirLogicalResult, [
        Handle, ctypes.c_ssize_t, _P] + _ERR),
    "sherryGgufSetTensorPacked": (MlirLogicalResult, [
        Handle, MlirStringRef, Handle] + _ERR),
    "sherryGgufSetTensorData": (MlirLogicalResult, [
        Handle, MlirStringRef, ctypes.c_ssize_t, _P, ctypes.c_uint32, _P,
        _I64] + _ERR),
    "sherryGgufRemoveTensor": (ctypes.c_bool, [Handle, MlirStringRef]),
    "sherryGgufDescribeStq1TypeCollision": (ctypes.c_bool, [
        ctypes.c_uint32, STRING_CALLBACK, _P]),
    "sherryCompile": (MlirLogicalResult, [
        MlirStringRef, MlirStringRef, ctypes.c_int,
        ctypes.POINTER(MlirStringRef), ctypes.c_ssize_t,
        ctypes.POINTER(Handle)] + _ERR),
    "sherryCompileCached": (MlirLogicalResult, [
        MlirStringRef, MlirStringRef, ctypes.c_int,
        ctypes.POINTER(MlirStringRef), ctypes.c_ssize_t, MlirStringRef,
        ctypes.POINTER(ctypes.c_bool), ctypes.POINTER(Handle)] + _ERR),
    "sherryLowerToLLVM": (MlirLogicalResult, [
        MlirStringRef, MlirStringRef, STRING_CALLBACK, _P] + _ERR),
    "sherryRunPasses": (MlirLogicalResult, [
        MlirStringRef, MlirStringRef, STRING_CALLBACK, _P] + _ERR),
    "sherryGetPreferredTableLayout": (MlirLogicalResult, [
        MlirStringRef, _I64, ctypes.c_int, _I64,
        ctypes.POINTER(ctypes.c_bool), ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(_I64)] + _ERR),
    "sherryExecutableDestroy": (None, [Handle]),
    "sherryExecutableGetNumFunctions": (ctypes.c_ssize_t, [Handle]),
    "sherryExecutableGetFunctionName": (MlirStringRef,
                                        [Handle, ctypes.c_ssize_t]),
    "sherryExecutableGetNumInputs": (ctypes.c_ssize_t,
                                     [Handle, ctypes.c_ssize_t]),
    "sherryExecutableGetNumResults": (ctypes.c_ssize_t,
                                      [Handle, ctypes.c_ssize_t]),
    "sherryExecutableGetInput": (SherryValueType, [
        Handle, ctypes.c_ssize_t, ctypes.c_ssize_t]),
    "sherryExecutableGetResult": (SherryValueType, [
        Handle, ctypes.c_ssize_t, ctypes.c_ssize_t]),
    "sherryExecutableInvoke": (MlirLogicalResult, [
        Handle, MlirStringRef, ctypes.POINTER(ctypes.c_void_p)] + _ERR),
    "sherryExecutableCall": (MlirLogicalResult, [
        Handle, MlirStringRef, ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_int)] + _ERR),
    "sherryFreeResultBuffer": (None, [_P]),
    "sherryGetVersion": (MlirStringRef, []),
}


def lib():
    """The loaded library, with argument and result types declared."""
    global _lib
    if _lib is None:
        loaded = _load()
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(loaded, name)
            fn.restype = restype
            fn.argtypes = argtypes
        _lib = loaded
    return _lib


def library_version():
    """The sherry-mlir version libSherryCAPI.so was built from."""
    v = lib().sherryGetVersion()
    return ctypes.string_at(v.data, v.length).decode()


def library_path():
    """The path of the loaded libSherryCAPI.so."""
    return lib()._name


def call(error_type, name, *args):
    """Calls a fallible C function (the error callback arguments are
    appended) and raises `error_type` with its message on failure."""
    sink = StringSink()
    result = getattr(lib(), name)(*args, sink.callback, None)
    if not result:
        raise error_type(sink.text or "%s failed" % name)
