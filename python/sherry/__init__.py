"""sherry: Python access to sherry-mlir through its C API.

Quantize and pack weights with the format library, read and write `.sherry`
files and llama.cpp's GGUF files (`sherry.gguf`), compile MLIR with the
`--sherry-to-llvm` pipeline and call it on numpy arrays. Everything runs in
libSherryCAPI.so (loaded with ctypes); see docs/python.md.
"""

# sherry-mlir's version (CMake's project(VERSION)); library_version() is
# that of the loaded libSherryCAPI.so, which must be the same.
__version__ = "0.1.0"

from . import gguf
from ._capi import library_path, library_version
from .compiler import (Function, Module, ValueType, compile, lower_to_llvm,
                       preferred_table_layout, run_passes)
from .errors import (CompilerError, FormatError, RuntimeCheckError,
                     SherryError)
from .format import (GRANULARITIES, GROUPINGS, LAYOUTS, SCALE_TYPES,
                     TABLE_ORDERS, PackedWeights, load, quantize)

__all__ = [
    "CompilerError", "FormatError", "Function", "GRANULARITIES", "GROUPINGS",
    "LAYOUTS",
    "Module", "PackedWeights", "RuntimeCheckError", "SCALE_TYPES",
    "SherryError", "TABLE_ORDERS", "ValueType",
    "compile", "gguf", "library_path", "library_version", "load",
    "lower_to_llvm",
    "preferred_table_layout", "quantize", "run_passes",
]
