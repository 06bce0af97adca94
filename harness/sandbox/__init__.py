"""harness.sandbox (see DESIGN.md)."""
