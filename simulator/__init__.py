"""The source simulator: plays the bank's systems for demos, tests and benchmarks."""
