"""harness.scoring (see DESIGN.md)."""
