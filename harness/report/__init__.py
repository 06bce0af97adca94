"""harness.report (see DESIGN.md)."""
