"""The exceptions of the sherry package."""


class SherryError(Exception):
    """Base class of every error the sherry package raises."""


class FormatError(SherryError, ValueError):
    """The format library refused weights, a layout or a file; the message
    is the library's (it names the offending value or position)."""


class CompilerError(SherryError):
    """Parsing, lowering, JIT compilation or a call failed; the message
    carries the MLIR diagnostics (file:line:col: severity: message)."""


class RuntimeCheckError(SherryError, ValueError):
    """A run-time check of compiled code failed: dynamic sizes that must
    agree (the rows of x and of the accumulator, say) did not. The message
    names the function, the op's location and the arguments; the op
    computed nothing."""
