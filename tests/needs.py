"""What a test needs from the machine, and the one way to say it is missing.

A test never skips because a tool is missing (Graphviz, Chromium, axe-core,
PostgreSQL's binaries): it fails, naming the tool and the command that
installs it, so CI can never go green with tests that did not run.
"""

from __future__ import annotations

import pytest


def missing(what: str) -> None:
    """Fail the test: ``what`` is not installed here."""
    pytest.fail(f"{what} is not installed: run scripts/setup --dev (.ci/run does)")
