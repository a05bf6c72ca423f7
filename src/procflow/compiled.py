"""Whether this procflow is the compiled build, and the marks the compiler reads.

procflow runs as plain Python. Its optional build compiles the engine's hot
modules with mypyc (``HATCH_BUILD_HOOK_ENABLE_MYPYC=true pip install .``), as
black and mypy ship theirs. Classes of those modules that applications may
subclass carry ``@mypyc_attr(allow_interpreted_subclasses=True)``: mypyc
reads the mark only in that literal form, from ``mypy_extensions`` (there at
build time; at run time a stand-in does nothing).

Imports nothing from procflow.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

__all__ = ["is_compiled", "mypyc_attr"]

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr
else:
    try:
        from mypy_extensions import mypyc_attr
    except ImportError:  # a pure-Python install without mypy around: the mark is unused

        def mypyc_attr(*attrs, **kwattrs):
            return lambda cls: cls


def is_compiled() -> bool:
    """Whether the engine's modules run compiled (the mypyc build) rather than as Python."""
    spec = importlib.util.find_spec("procflow.runtime.interpreter")
    return spec is not None and not (spec.origin or "").endswith(".py")
