"""harness.faults (see DESIGN.md)."""
