"""harness.faults.proxy (see DESIGN.md)."""
