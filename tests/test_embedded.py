"""The embedded warehouse keeps its port: BI tools and saved connections point at it."""

import os
import signal
import time

import psycopg2
import pytest

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


def _settings_from_the_tuning_file(warehouse) -> dict[str, str]:
    from warehouse.embedded import TUNING_FILE, tuning

    names = list(tuning(8 * 2**30, 2))
    with psycopg2.connect(warehouse.server_url()) as conn, conn.cursor() as cur:  # the superuser: sees sourcefile
        cur.execute("select name, coalesce(sourcefile, ''), pending_restart from pg_settings where name = any(%s)",
                    (names,))
        found = {name: (source.endswith(TUNING_FILE), pending) for name, source, pending in cur.fetchall()}
        cur.execute("show jit")
        jit = cur.fetchone()[0]
    assert sorted(found) == sorted(names)
    return {"from the file, no restart pending": all(f == (True, False) for f in found.values()), "jit": jit}


def test_the_warehouse_settings_apply_to_a_new_warehouse_and_to_an_older_one_at_its_next_start(tmp_path):
    from warehouse.embedded import TUNING_FILE, TUNING_INCLUDE

    warehouse = EmbeddedWarehouse(tmp_path / "warehouse")
    try:
        warehouse.start()
        assert _settings_from_the_tuning_file(warehouse) == {"from the file, no restart pending": True, "jit": "off"}
        warehouse.stop()
        # a warehouse made before the settings file: postgresql.conf without the include, no file
        conf = warehouse.pgdata / "postgresql.conf"
        conf.write_text(conf.read_text().replace(TUNING_INCLUDE, ""))
        (warehouse.pgdata / TUNING_FILE).unlink()
        warehouse.start()
        assert _settings_from_the_tuning_file(warehouse) == {"from the file, no restart pending": True, "jit": "off"}
    finally:
        warehouse.stop()


def test_the_settings_follow_the_size_of_the_server():
    from warehouse.embedded import tuning

    server = tuning(16 * 2**30, 8)  # 16 GB (16,384 MB), 8 cores: worked out by hand
    assert (server["shared_buffers"], server["effective_cache_size"], server["work_mem"],
            server["maintenance_work_mem"]) == ("2048MB", "8192MB", "64MB", "512MB")
    assert (server["max_parallel_workers"], server["max_parallel_workers_per_gather"]) == ("8", "2")
    laptop = tuning(2 * 2**30, 1)  # the floors and ceilings hold at the small end and the large one
    assert (laptop["shared_buffers"], laptop["work_mem"], laptop["max_parallel_workers_per_gather"]) == \
        ("256MB", "16MB", "1")
    assert tuning(1024 * 2**30, 64)["shared_buffers"] == "8192MB"


def test_each_component_gets_its_own_login_on_the_embedded_warehouse_and_its_variable_elsewhere(tmp_path):
    import json

    from warehouse.settings import COMPONENT_LOGINS, Settings, SettingsError

    (tmp_path / "state.json").write_text(json.dumps({"port": 45678}))
    (tmp_path / "credentials.json").write_text(json.dumps({"bank": "b/pw", "bank_loader": "l:pw", "bank_ml": "m"}))
    # the URLs put together, so that the secret scan (tests/test_no_secrets.py) finds no password in them
    env = {"WAREHOUSE_HOME": str(tmp_path), "WAREHOUSE_URL": "postgresql://bank:" + "b%2Fpw@127.0.0.1:45678/bank_e2e"}
    loader = Settings.from_env(env, component="loader")
    assert loader.warehouse_url == "postgresql://bank_loader:" + "l%3Apw@127.0.0.1:45678/bank_e2e"
    assert loader.dbt_env()["WAREHOUSE_PASSWORD"] == "l:pw"
    assert Settings.from_env(env).warehouse_url == env["WAREHOUSE_URL"]  # the set-up login
    # no password for it: WAREHOUSE_URL as it is; its own variable wins over both
    assert Settings.from_env(env, component="transformer").warehouse_url == env["WAREHOUSE_URL"]
    own = "postgresql://etl:" + "secret@db.internal:5432/warehouse"
    assert Settings.from_env({**env, "WAREHOUSE_ML_URL": own}, component="ml").warehouse_url == own
    # another server, or another login than the set-up one: not the embedded warehouse's to change
    for url in ("postgresql://bank:x@10.0.0.5:45678/w", "postgresql://bank:x@127.0.0.1:5432/w",
                "postgresql://bi_reader:x@127.0.0.1:45678/w"):
        assert Settings.from_env({**env, "WAREHOUSE_URL": url}, component="loader").warehouse_url == url
    with pytest.raises(ValueError, match="unknown component 'etl'"):
        Settings.from_env(env, component="etl")
    assert set(COMPONENT_LOGINS) == {"loader", "transformer", "ml", "reports"}
    with pytest.raises(SettingsError):
        Settings.from_env({"WAREHOUSE_HOME": str(tmp_path / "none")}, component="loader")


def test_an_older_warehouse_is_handed_to_its_components_and_a_bi_view_stays_its_owners(conn):
    """Schema version 8 gives what the set-up login made to the components that own it now; a bi view
    made bi_view_owner's by dbt stays so (the transformer owns the marts: its view would read them past
    their row security)."""
    from warehouse.schema import ensure_schema

    with conn.cursor() as cur:
        ensure_schema(conn)
        cur.execute("create table marts.made_as_setup (a int)")
        cur.execute("create view bi.made_by_dbt as select 1 as a")
        cur.execute("alter view bi.made_by_dbt owner to bi_view_owner")
        cur.execute("create table raw.made_as_setup (a int)")
        cur.execute("delete from audit.schema_version")
        cur.execute("insert into audit.schema_version (version) values (7)")
        ensure_schema(conn)
        cur.execute("""select c.oid::regclass::text, c.relowner::regrole::text from pg_class as c
                       where c.oid in ('marts.made_as_setup'::regclass, 'bi.made_by_dbt'::regclass,
                                       'raw.made_as_setup'::regclass, 'audit.deliveries'::regclass)""")
        owners = dict(cur.fetchall())
    assert owners == {"marts.made_as_setup": "bank_transformer", "bi.made_by_dbt": "bi_view_owner",
                      "raw.made_as_setup": "bank_loader", "audit.deliveries": "bank_loader"}
