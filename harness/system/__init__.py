"""Start, stop and health-check the system under test (supervised processes or external)."""
