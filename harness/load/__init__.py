"""harness.load (see DESIGN.md)."""
