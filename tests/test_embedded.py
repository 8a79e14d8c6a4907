"""The embedded warehouse keeps its port: BI tools and saved connections point at it."""

import os
import signal
import time

import psycopg2

from warehouse.embedded import EmbeddedWarehouse


def test_a_killed_warehouse_comes_back_on_the_same_port(tmp_path):
    warehouse = EmbeddedWarehouse(tmp_path / "warehouse")
    try:
        url = warehouse.start()
        port = warehouse.port()
        for _ in range(3):  # client connections leave TIME_WAIT sockets on the port behind
            psycopg2.connect(url).close()
        pid = int((warehouse.pgdata / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while warehouse.is_running() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not warehouse.is_running()
        time.sleep(2)  # the killed server's backends notice and exit
        url_again = warehouse.start()
        assert warehouse.port() == port and url_again == url
        with psycopg2.connect(url_again) as conn, conn.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)
    finally:
        warehouse.stop()
