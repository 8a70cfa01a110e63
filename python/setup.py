"""pip install ./python: the `sherry` package, bound to a libSherryCAPI.so.

The package is pure Python over the C API library, which CMake builds
(`cmake --build build`). Installing records where that library is, so the
installed package loads it from anywhere: $SHERRY_CAPI_LIBRARY at install
time if set, else the build directories of this source tree
(../build*/lib). It refuses to install without one.

Debian's setuptools builds it offline; there is no pyproject.toml because
pip would then fetch a build backend from the network.
"""
import glob
import os
import re

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
LIBRARY = "libSherryCAPI.so"


def version():
    with open(os.path.join(HERE, "sherry", "__init__.py")) as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def find_library():
    env = os.environ.get("SHERRY_CAPI_LIBRARY")
    if env:
        if not os.path.isfile(env):
            raise SystemExit("setup.py: SHERRY_CAPI_LIBRARY=%s is not a file"
                             % env)
        return os.path.abspath(env)
    root = os.path.dirname(HERE)
    for path in sorted(glob.glob(os.path.join(root, "build*", "lib",
                                              LIBRARY))):
        if os.path.isfile(path):
            return path
    raise SystemExit(
        "setup.py: no %s next to this source tree (looked in %s); build it "
        "first with 'cmake --build build', or set SHERRY_CAPI_LIBRARY to "
        "its path" % (LIBRARY, os.path.join(root, "build*", "lib")))


class BuildPy(build_py):
    """Also writes sherry/_location.py: the library this install uses."""

    def run(self):
        super().run()
        path = find_library()
        target = os.path.join(self.build_lib, "sherry", "_location.py")
        with open(target, "w") as f:
            f.write('"""Written by setup.py: the libSherryCAPI.so this '
                    'installed package loads."""\nLIBRARY = %r\n' % path)
        print("sherry: using %s" % path)


setup(
    name="sherry-mlir",
    version=version(),
    description="Python access to sherry-mlir: 1.25-bit ternary weights, "
                "GGUF, and the --sherry-to-llvm compiler",
    packages=["sherry", "sherry.llama", "sherry.torch"],
    python_requires=">=3.9",
    install_requires=["numpy"],
    extras_require={"torch": ["torch"]},
    cmdclass={"build_py": BuildPy},
)
