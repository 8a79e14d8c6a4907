"""Benchmarks: speed measured as ratios against a reference in the same run (never timed tests)."""
