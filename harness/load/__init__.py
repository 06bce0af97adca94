"""Load layer: Locust traffic against the workflow API, streamed back as samples.

Locust (and with it gevent) only ever runs in child processes; importing this package
does not import either. See ``docs/load.md``.
"""

from harness.load.runner import LOCUSTFILE, LoadError, LoadGenerator
from harness.load.samples import Sample

__all__ = ["LOCUSTFILE", "LoadError", "LoadGenerator", "Sample"]
