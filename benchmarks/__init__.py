"""Benchmarks: speed measured as ratios against a reference in the same run (never timed tests)."""

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def report(lines: list[str], append_to_docs: bool) -> int:
    """Print a benchmark's markdown section and, unless told not to, append it to docs/benchmarks.md."""
    text = "\n".join(lines)
    print(text)
    if append_to_docs:
        with open(DOCS, "a") as handle:
            handle.write(text)
    return 0
