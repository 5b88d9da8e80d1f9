"""Synthetic pilot population and provider feeds, for demos, tests and benchmarks."""
