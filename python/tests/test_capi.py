"""The C API as a C program sees it: libSherryCAPI.so carries the upstream
MLIR C API, and the sherry dialect and passes plug into it."""

import ctypes
import re
import subprocess

import pytest

import sherry
from sherry._capi import (STRING_CALLBACK as CALLBACK, MlirLogicalResult,
                          MlirStringRef, StringSink)


class Handle(ctypes.Structure):
    """Every MLIR C API object: { void *ptr; }."""
    _fields_ = [("ptr", ctypes.c_void_p)]


@pytest.fixture(scope="module")
def capi():
    lib = ctypes.CDLL(sherry.library_path())
    signatures = {
        "mlirContextCreate": (Handle, []),
        "mlirContextDestroy": (None, [Handle]),
        "mlirDialectRegistryCreate": (Handle, []),
        "mlirDialectRegistryDestroy": (None, [Handle]),
        "mlirContextAppendDialectRegistry": (None, [Handle, Handle]),
        "mlirRegisterAllDialects": (None, [Handle]),
        "sherryRegisterAllDialects": (None, [Handle]),
        "sherryRegisterAllPasses": (None, []),
        "mlirGetDialectHandle__sherry__": (Handle, []),
        "mlirDialectHandleGetNamespace": (MlirStringRef, [Handle]),
        "mlirDialectHandleRegisterDialect": (None, [Handle, Handle]),
        "mlirModuleCreateParse": (Handle, [Handle, MlirStringRef]),
        "mlirModuleGetOperation": (Handle, [Handle]),
        "mlirModuleDestroy": (None, [Handle]),
        "mlirOperationVerify": (ctypes.c_bool, [Handle]),
        "mlirOperationPrint": (None, [Handle, CALLBACK, ctypes.c_void_p]),
        "mlirPassManagerCreate": (Handle, [Handle]),
        "mlirPassManagerDestroy": (None, [Handle]),
        "mlirPassManagerGetAsOpPassManager": (Handle, [Handle]),
        "mlirOpPassManagerAddPipeline": (
            MlirLogicalResult, [Handle, MlirStringRef, CALLBACK,
                                ctypes.c_void_p]),
        "mlirPassManagerRunOnOp": (MlirLogicalResult, [Handle, Handle]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


MODULE = """
func.func @linear(%x: tensor<2x64xf32>, %w: tensor<8x10xi8>,
                  %s: tensor<8xf32>,
                  %acc: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %y = sherry.matmul ins(%x, %w : tensor<2x64xf32>, tensor<8x10xi8>)
         scales(%s : tensor<8xf32>) outs(%acc : tensor<2x8xf32>)
         layout<sherry, row> mode<int8> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
"""


def test_dialect_handle(capi):
    handle = capi.mlirGetDialectHandle__sherry__()
    assert str(capi.mlirDialectHandleGetNamespace(handle)) == "sherry"
    ctx = capi.mlirContextCreate()
    try:
        registry = capi.mlirDialectRegistryCreate()
        capi.mlirRegisterAllDialects(registry)
        capi.mlirContextAppendDialectRegistry(ctx, registry)
        capi.mlirDialectRegistryDestroy(registry)
        # Without the sherry dialect, its ops do not parse.
        assert not capi.mlirModuleCreateParse(
            ctx, MlirStringRef.of(MODULE)).ptr
        capi.mlirDialectHandleRegisterDialect(handle, ctx)
        module = capi.mlirModuleCreateParse(ctx, MlirStringRef.of(MODULE))
        assert module.ptr
        assert capi.mlirOperationVerify(capi.mlirModuleGetOperation(module))
        capi.mlirModuleDestroy(module)
    finally:
        capi.mlirContextDestroy(ctx)


def test_passes_through_the_mlir_c_api(capi):
    capi.sherryRegisterAllPasses()
    capi.sherryRegisterAllPasses()          # idempotent
    ctx = capi.mlirContextCreate()
    try:
        registry = capi.mlirDialectRegistryCreate()
        capi.mlirRegisterAllDialects(registry)
        capi.sherryRegisterAllDialects(registry)
        capi.mlirContextAppendDialectRegistry(ctx, registry)
        capi.mlirDialectRegistryDestroy(registry)
        module = capi.mlirModuleCreateParse(ctx, MlirStringRef.of(MODULE))
        assert module.ptr
        op = capi.mlirModuleGetOperation(module)
        pm = capi.mlirPassManagerCreate(ctx)
        errors = StringSink()
        assert capi.mlirOpPassManagerAddPipeline(
            capi.mlirPassManagerGetAsOpPassManager(pm),
            MlirStringRef.of("sherry-to-llvm{row-tile=4}"),
            errors.callback, None), errors.text
        assert capi.mlirPassManagerRunOnOp(pm, op)
        printed = StringSink()
        capi.mlirOperationPrint(op, printed.callback, None)
        assert "llvm.func @linear" in printed.text
        assert "sherry." not in printed.text
        capi.mlirPassManagerDestroy(pm)
        capi.mlirModuleDestroy(module)
    finally:
        capi.mlirContextDestroy(ctx)


def test_unknown_pipeline_option(capi):
    capi.sherryRegisterAllPasses()
    ctx = capi.mlirContextCreate()
    try:
        pm = capi.mlirPassManagerCreate(ctx)
        errors = StringSink()
        assert not capi.mlirOpPassManagerAddPipeline(
            capi.mlirPassManagerGetAsOpPassManager(pm),
            MlirStringRef.of("sherry-to-llvm{no-such-option=1}"),
            errors.callback, None)
        assert "no-such-option" in errors.text
        capi.mlirPassManagerDestroy(pm)
    finally:
        capi.mlirContextDestroy(ctx)


def test_version(sherry_pack):
    # The package and the library it loads are one sherry-mlir version,
    # CMake's project(VERSION), which the tools print too.
    assert re.fullmatch(r"\d+\.\d+\.\d+", sherry.__version__)
    assert sherry.library_version() == sherry.__version__
    out = subprocess.run([sherry_pack, "--version"],
                         capture_output=True, text=True, check=True).stdout
    assert "sherry-pack (sherry-mlir) version %s" % sherry.__version__ in out
