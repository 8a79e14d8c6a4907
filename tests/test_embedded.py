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


def test_every_connection_needs_the_generated_password(tmp_path):
    import stat

    import pytest

    from warehouse.settings import redacted

    warehouse = EmbeddedWarehouse(tmp_path / "warehouse")
    try:
        url = warehouse.start()
        credentials = warehouse.credentials_file
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600  # the owner's alone
        assert warehouse.password("postgres") and warehouse.password("postgres") not in redacted(url)
        port = warehouse.port()
        for user in ("postgres", "bi_reader", "nobody"):  # as any local user could try
            with pytest.raises(psycopg2.OperationalError, match="password"):
                psycopg2.connect(f"postgresql://{user}@127.0.0.1:{port}/warehouse").close()
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(f"postgresql://postgres:{'a-wrong-guess'}@127.0.0.1:{port}/warehouse").close()
        with psycopg2.connect(url) as conn, conn.cursor() as cur:  # the pipeline's login: the owner, no superuser
            cur.execute("""select current_user, rolsuper, pg_get_userbyid(d.datdba) from pg_roles, pg_database as d
                           where rolname = current_user and d.datname = current_database()""")
            assert cur.fetchone() == ("bank", False, "bank")
        bi_reader = warehouse.server_url("warehouse", role="bi_reader")
        with psycopg2.connect(bi_reader) as conn, conn.cursor() as cur:
            cur.execute("select current_user, rolsuper from pg_roles where rolname = current_user")
            assert cur.fetchone() == ("bi_reader", False)
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("copy (select 1) to program 'id'")
        warehouse.stop()
        assert warehouse.start() == url  # the same passwords after a restart
    finally:
        warehouse.stop()
