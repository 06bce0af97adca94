"""harness.engine: runs scenarios (phases, probes, fault schedule, abort conditions) and
writes the journal; ``harness.engine.run.execute_run`` is the entry point (docs/api.md)."""
