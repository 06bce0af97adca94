"""Benchmarks: each module exposes ``main() -> None`` and prints ratios vs a same-run baseline."""
