"""Compile MLIR with the `--sherry-to-llvm` pipeline and call it on numpy
arrays.

Calling convention (docs/python.md):

- Inputs are given in the order of the function's arguments. A tensor
  argument takes any array-like of its shape (converted to the element
  type where needed; an integer array of the same width is reinterpreted,
  so uint8 packed bytes pass as i8). Compiled code never writes into a
  tensor argument: the compiler marks them `bufferization.writable =
  false`, so tensors keep value semantics.
- A memref argument is passed by reference: it must be a C-contiguous,
  writable numpy array of exactly its element type, and what the function
  stores into it is visible afterwards (destination passing).
- Scalars (integers, index, floats) take Python numbers.
- Results come back as new numpy arrays (tensors, memrefs) or Python
  numbers (scalars): nothing for no result, the value for one, a tuple for
  several. The buffers compiled code allocated for them are freed.
"""

import ctypes
import operator
import os
import threading

import numpy as np

from . import _capi
from .errors import CompilerError, RuntimeCheckError

_SCALAR, _TENSOR, _MEMREF, _UNSUPPORTED = range(4)

# SherryCallOutcome
_CALL_NOT_MADE, _CALL_COMPLETED, _CALL_CHECK_FAILED, _CALL_CRASHED = range(4)

# SherryElementType -> (name, numpy dtype or None, ctypes type)
_ELEMENT_TYPES = [
    ("f32", np.float32, ctypes.c_float),
    ("f64", np.float64, ctypes.c_double),
    ("f16", np.float16, ctypes.c_uint16),
    ("bf16", None, ctypes.c_uint16),
    ("i1", np.bool_, ctypes.c_bool),
    ("i8", np.int8, ctypes.c_int8),
    ("i16", np.int16, ctypes.c_int16),
    ("i32", np.int32, ctypes.c_int32),
    ("i64", np.int64, ctypes.c_int64),
    ("index", np.int64, ctypes.c_int64),
]

# What memref.get_global puts in the `allocated` field of a constant.
_DEAD_BEEF = 0xDEADBEEF

_descriptor_classes = {}


def _descriptor_class(rank):
    """The ctypes struct of a ranked memref descriptor."""
    if rank not in _descriptor_classes:
        fields = [("allocated", ctypes.c_void_p),
                  ("aligned", ctypes.c_void_p),
                  ("offset", ctypes.c_int64)]
        if rank:
            fields += [("sizes", ctypes.c_int64 * rank),
                       ("strides", ctypes.c_int64 * rank)]
        _descriptor_classes[rank] = type(
            "MemRefDescriptor%d" % rank, (ctypes.Structure,),
            {"_fields_": fields})
    return _descriptor_classes[rank]


class ValueType:
    """An input or result type of a compiled function."""

    def __init__(self, raw):
        self.kind = raw.kind
        self.element = None
        self.dtype = None
        self.ctype = None
        if raw.element_type < len(_ELEMENT_TYPES):
            self.element, self.dtype, self.ctype = \
                _ELEMENT_TYPES[raw.element_type]
        #: Static sizes, None where dynamic; () for scalars.
        self.shape = tuple(None if raw.shape[i] < 0 else raw.shape[i]
                           for i in range(raw.rank))
        #: The type as MLIR prints it.
        self.name = str(raw.name)

    @property
    def is_array(self):
        return self.kind in (_TENSOR, _MEMREF)

    def __repr__(self):
        return self.name


def _check_shape(array, vt, where):
    if array.ndim != len(vt.shape) or any(
            want is not None and want != got
            for want, got in zip(vt.shape, array.shape)):
        want = "(%s)" % ", ".join("?" if d is None else str(d)
                                  for d in vt.shape)
        raise ValueError("%s: expected shape %s for %s, got %s"
                         % (where, want, vt.name, array.shape))


def _same_width_integers(a, b):
    return (a.kind in "iu" and np.dtype(b).kind in "iu"
            and a.itemsize == np.dtype(b).itemsize)


def _array_argument(value, vt, where):
    """The numpy array passed for a tensor or memref argument."""
    if vt.dtype is None:
        raise TypeError("%s: %s has no numpy element type" % (where, vt.name))
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()
    if vt.kind == _MEMREF:
        if not isinstance(value, np.ndarray):
            raise TypeError("%s: a memref argument (%s) is passed by "
                            "reference and needs a numpy array, got %s"
                            % (where, vt.name, type(value).__name__))
        array = value
        if array.dtype != vt.dtype:
            if not _same_width_integers(array.dtype, vt.dtype):
                raise TypeError("%s: %s needs a %s array, got %s (memref "
                                "arguments are not converted)"
                                % (where, vt.name, np.dtype(vt.dtype).name,
                                   array.dtype))
            array = array.view(vt.dtype)
        if not array.flags.c_contiguous or not array.flags.writeable:
            raise ValueError("%s: a memref argument (%s) must be a "
                             "C-contiguous, writable array" % (where, vt.name))
    else:
        array = np.asarray(value)
        if array.dtype != vt.dtype:
            if _same_width_integers(array.dtype, vt.dtype):
                array = array.view(vt.dtype)
            elif (np.dtype(vt.dtype).kind in "iub"
                  and array.dtype.kind not in "iub"):
                raise TypeError("%s: %s needs integers, got %s"
                                % (where, vt.name, array.dtype))
            else:
                array = array.astype(vt.dtype)
        array = np.ascontiguousarray(array)
    _check_shape(array, vt, where)
    return array


def _descriptor(array):
    desc = _descriptor_class(array.ndim)()
    desc.allocated = desc.aligned = array.ctypes.data
    desc.offset = 0
    for i, (size, stride) in enumerate(zip(array.shape, array.strides)):
        desc.sizes[i] = size
        desc.strides[i] = stride // array.itemsize
    return desc


def _scalar_argument(value, vt, where):
    if vt.ctype is None:
        raise TypeError("%s: cannot pass %s" % (where, vt.name))
    if vt.element in ("f32", "f64"):
        return vt.ctype(float(value))
    if vt.element == "f16":
        return vt.ctype(int(np.float16(value).view(np.uint16)))
    if vt.element == "bf16":
        bits = int(np.float32(value).view(np.uint32))
        # Round to nearest even on the dropped half.
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
        return vt.ctype(bits & 0xFFFF)
    if vt.element == "i1":
        return vt.ctype(bool(value))
    number = operator.index(value)
    info = np.iinfo(vt.dtype)
    if not info.min <= number <= info.max:
        raise OverflowError("%s: %d does not fit %s" % (where, number,
                                                        vt.name))
    return vt.ctype(number)


def _scalar_result(value, vt):
    raw = value.value if hasattr(value, "value") else value
    if vt.element == "f16":
        return float(np.uint16(raw).view(np.float16))
    if vt.element == "bf16":
        return float(np.uint32(raw << 16).view(np.float32))
    return raw


def _contiguous_strides(shape):
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


def _array_result(desc, vt, rank):
    """A copy of what a returned descriptor points to."""
    if vt.dtype is None:
        raise TypeError("cannot return %s to numpy" % vt.name)
    dtype = np.dtype(vt.dtype)
    shape = tuple(desc.sizes[i] for i in range(rank)) if rank else ()
    strides = tuple(desc.strides[i] for i in range(rank)) if rank else ()
    if any(s == 0 for s in shape):
        return np.empty(shape, dtype)
    address = desc.aligned + desc.offset * dtype.itemsize
    if strides == _contiguous_strides(shape):
        out = np.empty(shape, dtype)
        ctypes.memmove(out.__array_interface__["data"][0], address,
                       out.nbytes)
        return out
    span = 1 + sum((size - 1) * stride for size, stride in zip(shape, strides))
    buf = (ctypes.c_char * (span * dtype.itemsize)).from_address(address)
    base = np.frombuffer(buf, dtype=dtype)
    view = np.lib.stride_tricks.as_strided(
        base, shape, tuple(s * dtype.itemsize for s in strides))
    return np.array(view, copy=True)


class _Frame:
    """What one thread's calls of a Function reuse (Function._new_frame)."""
    __slots__ = ("descs", "single_scalar", "storage", "layout", "indirect",
                 "scalar_slots", "argv", "outcome", "outcome_ref", "bound")


class Function:
    """A callable function of a compiled module."""

    def __init__(self, module, index):
        lib = _capi.lib()
        handle = module._handle
        self._module = module
        self.name = str(lib.sherryExecutableGetFunctionName(handle, index))
        self.inputs = tuple(
            ValueType(lib.sherryExecutableGetInput(handle, index, i))
            for i in range(lib.sherryExecutableGetNumInputs(handle, index)))
        self.results = tuple(
            ValueType(lib.sherryExecutableGetResult(handle, index, i))
            for i in range(lib.sherryExecutableGetNumResults(handle, index)))
        self._name_ref = _capi.MlirStringRef.of(self.name)
        self._results_class = None
        self._results_layout = None
        self._plan = None
        self._frames = threading.local()

    @property
    def signature(self):
        text = "%s(%s)" % (self.name, ", ".join(map(str, self.inputs)))
        if self.results:
            text += " -> (%s)" % ", ".join(map(str, self.results))
        return text

    def __repr__(self):
        return "<sherry.Function %s>" % self.signature

    def _result_storage(self):
        """A fresh ctypes struct for the results, and (field, type, rank)
        of each."""
        if self._results_class is None:
            fields, layout = [], []
            for i, vt in enumerate(self.results):
                if vt.kind == _UNSUPPORTED:
                    raise CompilerError("%s: cannot return %s to Python"
                                        % (self.name, vt.name))
                rank = len(vt.shape)
                ctype = _descriptor_class(rank) if vt.is_array else vt.ctype
                fields.append(("r%d" % i, ctype))
                layout.append(("r%d" % i, vt, rank))
            self._results_class = type("Results", (ctypes.Structure,),
                                       {"_fields_": fields})
            self._results_layout = layout
        return self._results_class(), self._results_layout

    def _where(self, i):
        return "%s, argument %d" % (self.name, i)

    def _argument_plan(self):
        """Per input: (kind, type, descriptor class or None)."""
        if self._plan is None:
            plan = []
            for i, vt in enumerate(self.inputs):
                if vt.kind == _UNSUPPORTED:
                    raise CompilerError("%s: cannot pass %s from Python"
                                        % (self._where(i), vt.name))
                cls = _descriptor_class(len(vt.shape)) if vt.is_array \
                    else None
                plan.append((vt.kind, vt, cls))
            self._plan = plan
        return self._plan

    def _array(self, i, value, kind, vt):
        """The array passed for input `i`."""
        # The common case, a C-contiguous array of the element type and
        # shape, needs no conversion.
        if (type(value) is np.ndarray and value.dtype == vt.dtype
                and value.flags.c_contiguous
                and (kind != _MEMREF or value.flags.writeable)
                and value.ndim == len(vt.shape)
                and all(w is None or w == g
                        for w, g in zip(vt.shape, value.shape))):
            return value
        return _array_argument(value, vt, self._where(i))

    @staticmethod
    def _fill(desc, array):
        """Points `desc` at `array`; returns the address."""
        address = array.__array_interface__["data"][0]
        desc.allocated = desc.aligned = address
        if array.ndim:
            desc.sizes[:] = array.shape
            itemsize = array.itemsize
            desc.strides[:] = [s // itemsize for s in array.strides]
        return address

    def _new_frame(self, first, bound):
        """What the calls of one thread reuse: the descriptors of inputs
        0 .. first-1, the results' storage and the argument vector, whose
        inputs from `first` on are the ctypes values `bound`."""
        plan = self._argument_plan()
        frame = _Frame()
        frame.descs = [cls() if cls is not None else None
                       for _, _, cls in plan[:first]]
        frame.single_scalar = (len(self.results) == 1
                               and self.results[0].kind == _SCALAR)
        frame.storage = frame.layout = None
        # One pointer per parameter of the _mlir_ciface_ function: to the
        # results' struct pointer, to each descriptor pointer, to each
        # scalar. `indirect` holds the struct pointers argv points to.
        structs = []
        if self.results and not frame.single_scalar:
            frame.storage, frame.layout = self._result_storage()
            structs.append(frame.storage)
        values = frame.descs + list(bound)
        structs += [v for v in values if isinstance(v, ctypes.Structure)]
        frame.indirect = (ctypes.c_void_p * max(len(structs), 1))(
            *[ctypes.addressof(v) for v in structs])
        base = ctypes.addressof(frame.indirect)
        argv, slot = [], 0
        if frame.storage is not None:
            argv.append(base)
            slot = 1
        frame.scalar_slots = []
        for i, value in enumerate(values):
            if value is None:             # a leading scalar, set per call
                frame.scalar_slots.append((i, len(argv)))
                argv.append(None)
            elif isinstance(value, ctypes.Structure):
                argv.append(base + 8 * slot)
                slot += 1
            else:                         # a bound scalar
                argv.append(ctypes.addressof(value))
        if frame.single_scalar:
            frame.storage = self.results[0].ctype()
            argv.append(ctypes.addressof(frame.storage))
        frame.argv = (ctypes.c_void_p * max(len(argv), 1))(*argv)
        frame.outcome = ctypes.c_int()
        frame.outcome_ref = ctypes.byref(frame.outcome)
        frame.bound = bound
        return frame

    def _bound_values(self, trailing):
        """The index of the first bound input, and the ctypes values of
        `trailing` as the last inputs, the arrays they point to and those
        arrays' addresses."""
        first = len(self.inputs) - len(trailing)
        if first < 0:
            raise TypeError("%s takes %d arguments, %d bound"
                            % (self.name, len(self.inputs), len(trailing)))
        plan = self._argument_plan()
        bound, keep, buffers = [], [], set()
        for i, value in enumerate(trailing, first):
            kind, vt, cls = plan[i]
            if kind == _SCALAR:
                bound.append(_scalar_argument(value, vt, self._where(i)))
                continue
            array = self._array(i, value, kind, vt)
            desc = cls()
            buffers.add(self._fill(desc, array))
            keep.append(array)
            bound.append(desc)
        return first, bound, keep, buffers

    def _bind(self, *trailing):
        """A callable taking the leading inputs, with `trailing` passed as
        the last ones on every call (converted once)."""
        first, bound, keep, buffers = self._bound_values(trailing)
        frames = threading.local()

        def call(*leading):
            if len(leading) != first:
                raise TypeError("%s takes %d arguments before the bound "
                                "ones, got %d" % (self.name, first,
                                                  len(leading)))
            frame = getattr(frames, "frame", None)
            if frame is None:
                frame = frames.frame = self._new_frame(first, bound)
            return self._invoke(frame, leading, buffers)
        call._keep = keep     # the bound arrays live as long as the callable
        return call

    def _rows_caller(self, *trailing):
        """For a function whose leading inputs are 2-D arrays of a dynamic
        number of rows and a static row length (a layer's input and the
        output it writes in place): a callable ``call(rows, *addresses)``
        that points them at the C-contiguous buffers at `addresses`, `rows`
        rows each, and calls, with `trailing` bound as ``_bind`` binds
        them. Nothing is converted or checked per call beyond what the
        compiled code checks: the caller owns the buffers' sizes and
        element types (SherryLinear's per-call path)."""
        if self.results:
            raise TypeError("%s returns results; _rows_caller is for "
                            "functions that write their outputs in place"
                            % self.name)
        first, bound, keep, _ = self._bound_values(trailing)
        plan = self._argument_plan()
        for i in range(first):
            vt = plan[i][1]
            if not (vt.is_array and len(vt.shape) == 2
                    and vt.shape[0] is None and vt.shape[1] is not None):
                raise TypeError("%s: %s is not a 2-D array with a dynamic "
                                "number of rows" % (self._where(i), vt.name))
        frames = threading.local()
        call_c = _capi.lib().sherryExecutableCall
        handle, name_ref = self._module._handle, self._name_ref

        def new_frame():
            frame = frames.frame = self._new_frame(first, bound)
            for i, desc in enumerate(frame.descs):
                length = plan[i][1].shape[1]
                desc.offset = 0
                desc.sizes[1] = desc.strides[0] = length
                desc.strides[1] = 1
            return frame

        def call(rows, *addresses):
            frame = getattr(frames, "frame", None) or new_frame()
            for desc, address in zip(frame.descs, addresses):
                desc.allocated = desc.aligned = address
                desc.sizes[0] = rows
            sink = _capi.StringSink.for_thread()
            if not call_c(handle, name_ref, frame.argv, frame.outcome_ref,
                          sink.callback, None):
                if frame.outcome.value == _CALL_CHECK_FAILED:
                    raise RuntimeCheckError(sink.text)
                raise CompilerError(sink.text or "calling %s failed"
                                    % self.name)
        call._keep = keep     # the bound arrays live as long as the callable
        call._function = self
        return call

    def __call__(self, *args):
        if len(args) != len(self.inputs):
            raise TypeError("%s takes %d arguments (%s), got %d"
                            % (self.name, len(self.inputs),
                               ", ".join(map(str, self.inputs)), len(args)))
        frame = getattr(self._frames, "frame", None)
        if frame is None:
            frame = self._frames.frame = self._new_frame(len(args), ())
        return self._invoke(frame, args, ())

    def _invoke(self, frame, args, bound_buffers):
        plan = self._plan
        arrays = []      # what the call reads, alive until it returns
        input_buffers = set(bound_buffers)
        scalars = iter(frame.scalar_slots)
        for i, value in enumerate(args):
            kind, vt, _ = plan[i]
            if kind == _SCALAR:
                scalar = _scalar_argument(value, vt, self._where(i))
                arrays.append(scalar)
                frame.argv[next(scalars)[1]] = ctypes.addressof(scalar)
                continue
            array = self._array(i, value, kind, vt)
            arrays.append(array)
            input_buffers.add(self._fill(frame.descs[i], array))
        storage, layout = frame.storage, frame.layout
        sink = _capi.StringSink.for_thread()
        ok = _capi.lib().sherryExecutableCall(
            self._module._handle, self._name_ref, frame.argv,
            ctypes.byref(frame.outcome), sink.callback, None)
        if not ok:
            if frame.outcome.value == _CALL_CHECK_FAILED:
                # The call completed on operands it emptied: its results are
                # buffers to release.
                if layout is not None:
                    self._free_results(storage, layout, input_buffers)
                raise RuntimeCheckError(sink.text)
            raise CompilerError(sink.text or "calling %s failed" % self.name)

        if not self.results:
            return None
        if frame.single_scalar:
            return _scalar_result(storage, self.results[0])
        results = []
        try:
            for field, vt, rank in layout:
                value = getattr(storage, field)
                if vt.is_array:
                    results.append(_array_result(value, vt, rank))
                else:
                    results.append(_scalar_result(value, vt))
        finally:
            self._free_results(storage, layout, input_buffers)
        return results[0] if len(results) == 1 else tuple(results)

    @staticmethod
    def _free_results(storage, layout, input_buffers):
        """Releases the buffers compiled code allocated for the results."""
        freed = set()
        for field, vt, rank in layout:
            if not vt.is_array:
                continue
            allocated = getattr(storage, field).allocated
            # Never free an input's buffer, a constant, or twice.
            if (allocated and allocated != _DEAD_BEEF
                    and allocated not in input_buffers
                    and allocated not in freed):
                _capi.lib().sherryFreeResultBuffer(allocated)
                freed.add(allocated)


class Module:
    """A compiled module: its public functions as attributes (or items)."""

    def __init__(self, handle):
        self._handle = handle
        count = _capi.lib().sherryExecutableGetNumFunctions(handle)
        self.functions = {}
        for i in range(count):
            fn = Function(self, i)
            self.functions[fn.name] = fn

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None and _capi is not None:
            _capi.lib().sherryExecutableDestroy(handle)
            self._handle = None

    def __getattr__(self, name):
        functions = self.__dict__.get("functions", {})
        if name in functions:
            return functions[name]
        raise AttributeError("the module has no public function %r (it has "
                             "%s)" % (name, ", ".join(functions) or "none"))

    def __getitem__(self, name):
        return self.functions[name]

    def __dir__(self):
        return list(super().__dir__()) + list(self.functions)

    def __repr__(self):
        return "<sherry.Module %s>" % ", ".join(
            fn.signature for fn in self.functions.values())


def compile(mlir_text, pipeline_options="", opt_level=2, shared_libs=(),
            cache_dir=None):
    """Parses `mlir_text`, lowers it with `--sherry-to-llvm`
    (`pipeline_options` as between the braces, e.g. "row-tile=16"), and
    JIT-compiles it at `opt_level` (0..3). `shared_libs`: extra libraries
    the code may call (libomp and mlir-runner's support libraries are
    always available). `cache_dir`: a directory to keep compiled code in
    and load it from when the same module is compiled again with the same
    options on the same kind of CPU (docs/python.md, "Compile cache");
    None: the environment's ``SHERRY_CACHE_DIR``, or no cache where that
    is unset or empty. The module's ``cache_hit`` says whether its code
    came from the cache. Raises CompilerError with the MLIR diagnostics."""
    if cache_dir is None:
        cache_dir = os.environ.get("SHERRY_CACHE_DIR", "")
    libs = [_capi.MlirStringRef.of(str(p)) for p in shared_libs]
    lib_array = (_capi.MlirStringRef * max(len(libs), 1))(*libs)
    handle = _capi.Handle()
    hit = ctypes.c_bool()
    _capi.call(CompilerError, "sherryCompileCached",
               _capi.MlirStringRef.of(mlir_text),
               _capi.MlirStringRef.of(pipeline_options), int(opt_level),
               lib_array, len(libs), _capi.MlirStringRef.of(
                   os.fspath(cache_dir)), ctypes.byref(hit),
               ctypes.byref(handle))
    module = Module(handle)
    module.cache_hit = hit.value
    return module


def preferred_table_layout(in_features, pipeline_options="target=host",
                           granularity="row", group_size=None):
    """The tables layout, ``(table_order, tile_block)``, in which weights
    of `in_features` (K) with `granularity` scales, passed at run time, go
    to the activation-table kernel that `pipeline_options` compile
    (``target=host``: this CPU's); None where those options compile no
    table kernel for them (``target=portable``, ``strategy=decode``):
    pass them in the sherry or stq1_0 layout then. Raises CompilerError on
    bad options."""
    from .format import GRANULARITIES, TABLE_ORDERS
    if granularity not in GRANULARITIES:
        raise ValueError("unknown granularity %r; expected one of %s"
                         % (granularity, ", ".join(GRANULARITIES)))
    found = ctypes.c_bool()
    order = ctypes.c_int()
    block = ctypes.c_int64()
    _capi.call(CompilerError, "sherryGetPreferredTableLayout",
               _capi.MlirStringRef.of(pipeline_options), int(in_features),
               GRANULARITIES.index(granularity),
               int(group_size or 0), ctypes.byref(found), ctypes.byref(order),
               ctypes.byref(block))
    if not found.value:
        return None
    return TABLE_ORDERS[order.value], block.value


def lower_to_llvm(mlir_text, pipeline_options=""):
    """The module after `--sherry-to-llvm`, as text (what compile() JITs)."""
    sink = _capi.StringSink()
    _capi.call(CompilerError, "sherryLowerToLLVM",
               _capi.MlirStringRef.of(mlir_text),
               _capi.MlirStringRef.of(pipeline_options), sink.callback, None)
    return sink.text


def run_passes(mlir_text, pass_pipeline):
    """The module after the textual pass pipeline `pass_pipeline` (as
    sherry-opt's --pass-pipeline: "builtin.module(sherry-sparsify{...})"),
    as text. The pipeline may name sherry's passes and pipelines and MLIR's
    core transforms (canonicalize, cse, inline, symbol-dce, ...). Raises
    CompilerError with the diagnostics."""
    sink = _capi.StringSink()
    _capi.call(CompilerError, "sherryRunPasses",
               _capi.MlirStringRef.of(mlir_text),
               _capi.MlirStringRef.of(pass_pipeline), sink.callback, None)
    return sink.text
