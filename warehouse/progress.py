"""Progress of a long step: log lines with the count, the rate and the time left (what an Airflow task
log shows), at most one every ``every`` seconds and always at the end; and, when standard error is a
terminal (a data engineer running a command), a progress bar redrawn in place.

    with Progress("loading deliveries", len(folders), "deliveries", log) as progress:
        for folder in folders:
            ...
            progress.advance()
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 30


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    def __init__(self, what: str, total: int, unit: str, logger: logging.Logger, every: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, stream: TextIO | None = None):
        self.what, self.total, self.unit, self.logger, self.every, self.clock = what, total, unit, logger, every, clock
        self.stream = stream if stream is not None else sys.stderr
        self.bar = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.started = self.logged = clock()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar and self.done < self.total:  # stopped early: end the bar's line
            self.stream.write("\n")
            self.stream.flush()

    def message(self) -> str:
        """'<what>: 40 of 120 deliveries (33%), 2.0 deliveries/s, about 40 s left' (a rate under one a
        second per minute)."""
        elapsed = self.clock() - self.started
        text = f"{self.what}: {self.done:,} of {self.total:,} {self.unit}"
        if self.total:
            text += f" ({self.done / self.total:.0%})"
        if self.done and elapsed > 0:
            rate = self.done / elapsed
            text += f", {rate:,.1f} {self.unit}/s" if rate >= 1 else f", {rate * 60:,.1f} {self.unit}/min"
            if self.done < self.total:
                text += f", about {_duration((self.total - self.done) / rate)} left"
            else:
                text += f", in {_duration(elapsed)}"
        return text

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = self.clock()
        finished = self.done >= self.total
        if finished or now - self.logged >= self.every:
            self.logged = now
            self.logger.info("%s", self.message())
        if self.bar:
            filled = round(BAR_WIDTH * self.done / self.total) if self.total else BAR_WIDTH
            self.stream.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.message()}\033[K"
                              + ("\n" if finished else ""))
            self.stream.flush()
