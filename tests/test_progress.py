"""Progress lines and the bar, against figures worked out by hand (a clock the test moves)."""

import io
import logging

from warehouse.progress import Progress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_log_says_count_rate_and_time_left_at_most_every_period_and_at_the_end(caplog):
    caplog.set_level(logging.INFO, logger="test.progress")
    clock = Clock()
    progress = Progress("loading", 10, "deliveries", logging.getLogger("test.progress"), every=30, clock=clock,
                        stream=io.StringIO())
    for seconds in (2, 2, 2, 2):  # 4 deliveries in 8 s: not yet 30 s since the start, nothing logged
        clock.now += seconds
        progress.advance()
    assert caplog.messages == []
    clock.now += 32  # 5 in 40 s: 0.125 a second, 5 left: 40 s
    progress.advance()
    assert caplog.messages == ["loading: 5 of 10 deliveries (50%), 7.5 deliveries/min, about 40 s left"]
    clock.now += 200  # all 10 in 240 s: the end is always logged
    progress.advance(5)
    assert caplog.messages[-1] == "loading: 10 of 10 deliveries (100%), 2.5 deliveries/min, in 4 min 00 s"


def test_a_terminal_gets_a_bar_redrawn_in_place_and_a_pipe_does_not(caplog):
    clock = Clock()
    terminal = Terminal()
    with Progress("reports", 4, "books", logging.getLogger("test.progress"), clock=clock, stream=terminal) as bar:
        for _ in range(4):
            clock.now += 1.5
            bar.advance()
    drawn = terminal.getvalue()
    assert drawn.count("\r") == 4 and drawn.endswith("\n")
    first = drawn.split("\r")[1]
    assert first.startswith("[" + "#" * 8 + "." * 22 + "] reports: 1 of 4 books (25%), 40.0 books/min, about 4 s left")
    piped = io.StringIO()
    with Progress("reports", 4, "books", logging.getLogger("test.progress"), clock=clock, stream=piped) as quiet:
        quiet.advance(4)
    assert piped.getvalue() == ""
