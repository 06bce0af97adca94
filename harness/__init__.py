"""harness: chaos and contract testing for AI agent orchestrations.

The package is layered (see DESIGN.md); data flows downward:
``cli`` -> ``engine`` -> ``load``/``faults``/``system`` -> ``scoring``/``model``.
``model`` and ``scoring`` are pure (no I/O beyond reading files they are handed).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("harness")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
