"""The command line: ``procflow validate|check|test|run|decide|render|schema|index|store|worker``.

The top layer: imports everything, and nothing in procflow imports it.
"""

from procflow.cli.main import main

__all__ = ["main"]
