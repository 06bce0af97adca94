"""harness.contracts (see DESIGN.md)."""
