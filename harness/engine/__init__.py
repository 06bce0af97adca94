"""harness.engine (see DESIGN.md)."""
