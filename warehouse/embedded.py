"""The embedded warehouse: a real Postgres 16 from the ``pgserver`` package, kept in a local folder.

``pgserver.get_server()`` stops its server when the starting process exits and listens on a unix
socket only. The warehouse must outlive ``make demo`` and accept TCP connections from BI tools, so
this module runs pgserver's own binaries (initdb, pg_ctl) itself: the server listens on
127.0.0.1 on a free port and keeps running until ``make warehouse-stop``.

Postgres refuses to run as root; when we are root, the server runs as the system user
``pgserver`` (created on first use, as pgserver itself does).

Every connection needs a password (SCRAM), even from this machine: passwords for the superuser, the
set-up login ``bank``, each component's login and ``bi_reader`` are generated at the first start and
kept in ``.warehouse/credentials.json``, which only its owner can read; the URLs the product builds
read them from there (``EmbeddedLocation.server_url``), and nothing prints them. A warehouse made by an older version,
which trusted local connections, is given passwords the same way at its next start.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path

from warehouse import access
from warehouse.db import ensure_database
from warehouse.settings import COMPONENT_LOGINS, EMBEDDED_DATABASE, PIPELINE_LOGIN, SERVER_USER, EmbeddedLocation

HBA_MARKER = "# bank-customer-value: a password (SCRAM) for every connection"
PG_HBA = (f"{HBA_MARKER}\n"
          "local all all scram-sha-256\n"
          "host all all 127.0.0.1/32 scram-sha-256\n"
          "host all all ::1/128 scram-sha-256\n")

log = logging.getLogger(__name__)


# every schema, table (partitions too), view and free-standing sequence the superuser owns, to the pipeline's login
# ({login}, {database}: names of this module's own, never input)
HAND_OVER = """
do $$
declare
    found record;
begin
    execute format('alter database %I owner to %I', '{database}', '{login}');
    for found in
        select nspname from pg_namespace
        where nspowner = 'postgres'::regrole and nspname not like 'pg\\_%' and nspname <> 'information_schema'
    loop
        execute format('alter schema %I owner to %I', found.nspname, '{login}');
    end loop;
    for found in
        select c.oid::regclass::text as name,
               case c.relkind when 'v' then 'view' when 'm' then 'materialized view' when 'S' then 'sequence'
                   else 'table' end as kind
        from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
        where c.relowner = 'postgres'::regrole and c.relkind in ('r', 'p', 'v', 'm', 'S')
            and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
            -- a sequence a column owns follows its table
            and (c.relkind <> 'S' or not exists (
                select 1 from pg_depend as d
                where d.objid = c.oid and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i')))
    loop
        execute format('alter %s %s owner to %I', found.kind, found.name, '{login}');
    end loop;
end $$
"""


TUNING_FILE = "bank-warehouse.conf"
TUNING_INCLUDE = f"include_if_exists '{TUNING_FILE}'"


def tuning(memory_bytes: int, cores: int) -> dict[str, str]:
    """Postgres settings for a warehouse on a machine of ``memory_bytes`` and ``cores``: a few sessions
    at a time (dbt's threads, the loader, the ML jobs), large sorts, hash joins and bulk loads, data on
    SSD. The same figures, and why, are in docs/scaling.md for any other Postgres."""
    mb = memory_bytes // 2**20
    return {
        # Postgres' own cache; the operating system's page cache holds the rest of the data
        "shared_buffers": f"{min(max(mb // 8, 128), 8192)}MB",
        "effective_cache_size": f"{max(mb // 2, 256)}MB",
        # per sort or hash node of a query (and per parallel worker): dbt runs 4 models at once
        "work_mem": f"{min(max(mb // 256, 16), 256)}MB",
        "hash_mem_multiplier": "2.0",
        # index builds, vacuum, the loader's partition attach
        "maintenance_work_mem": f"{min(max(mb // 32, 64), 2048)}MB",
        "max_worker_processes": str(max(8, cores + 4)),
        "max_parallel_workers": str(max(2, cores)),
        "max_parallel_workers_per_gather": str(max(1, cores // 4)),  # dbt runs 4 models at once
        "max_parallel_maintenance_workers": str(max(1, cores // 2)),
        # bulk loads and full refreshes write gigabytes: fewer, spread-out checkpoints
        "max_wal_size": "8GB",
        "min_wal_size": "1GB",
        "checkpoint_timeout": "15min",
        "checkpoint_completion_target": "0.9",
        "wal_compression": "on",
        # SSD: a random read costs little more than a sequential one
        "random_page_cost": "1.1",
        "effective_io_concurrency": "200",
        # JIT compiles each of dbt's many short queries for longer than it runs them
        "jit": "off",
        # the facts grow by appends: vacuum (visibility map, index-only scans) and analyze follow them
        "autovacuum_vacuum_insert_scale_factor": "0.05",
        "autovacuum_analyze_scale_factor": "0.02",
        "autovacuum_vacuum_cost_limit": "2000",
    }


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class EmbeddedWarehouse(EmbeddedLocation):
    """The embedded server's control: start (initialising it on first use) and stop."""

    def start(self) -> str:
        """Start the server (initialising it on first use); return the warehouse database URL."""
        POSTGRES_BIN_PATH = postgres_bin_path()
        self.home.mkdir(parents=True, exist_ok=True)
        run_as = self._prepare_permissions(POSTGRES_BIN_PATH)
        if not (self.pgdata / "PG_VERSION").exists():
            log.info("initialising a new embedded Postgres in %s", self.pgdata)
            self._run(POSTGRES_BIN_PATH / "initdb", "-D", self.pgdata, "--auth=trust", "--encoding=UTF8",
                      "--locale=C", "-U", "postgres", user=run_as)
            with open(self.pgdata / "postgresql.conf", "a") as conf:
                conf.write(
                    "\n# bank-customer-value embedded warehouse\n"
                    "listen_addresses = '127.0.0.1'\n"
                    "unix_socket_directories = ''\n"
                    "synchronous_commit = off\n"
                    "max_connections = 60\n"
                    f"{TUNING_INCLUDE}\n"
                )
        self._write_tuning(run_as)
        if not self.is_running():
            port = self.port()
            if port is not None and not _wait_until_free(port):
                # BI tools and saved connections point at this port: moving would break them all
                raise RuntimeError(f"port {port} of the embedded warehouse ({self.state_file}) is taken by another "
                                   f"program: stop it (see `ss -ltnp 'sport = :{port}'`), then start again")
            port = port or _free_port()
            self.state_file.write_text(json.dumps({"port": port}))
            log.info("starting the embedded warehouse on 127.0.0.1:%s", port)
            self._run(POSTGRES_BIN_PATH / "pg_ctl", "-D", self.pgdata, "-l", self.log_file, "-w",
                      "-t", "60", "-o", f"-p {port}", "start", user=run_as)
        self._require_passwords(POSTGRES_BIN_PATH, run_as)
        self._logins()
        ensure_database(self.server_url(), EMBEDDED_DATABASE, owner=PIPELINE_LOGIN)
        self.hand_over(EMBEDDED_DATABASE)
        return self.server_url(EMBEDDED_DATABASE, role=PIPELINE_LOGIN)

    def _write_tuning(self, run_as: str | None) -> None:
        """The warehouse's settings (``tuning``, for this machine) in their own file, rewritten at every
        start, so a warehouse made by an older version gets them too; a running server reloads them
        (shared_buffers and the worker counts wait for its next restart)."""
        conf = self.pgdata / "postgresql.conf"
        if TUNING_INCLUDE not in conf.read_text():
            with open(conf, "a") as handle:
                handle.write(f"\n{TUNING_INCLUDE}\n")
        path = self.pgdata / TUNING_FILE
        text = "".join(f"{name} = '{value}'\n" for name, value in tuning(_memory_bytes(), os.cpu_count() or 1).items())
        text = f"# written by warehouse/embedded.py at every start (docs/scaling.md): edits here are lost\n{text}"
        if path.exists() and path.read_text() == text:
            return
        path.write_text(text)
        if run_as:
            import shutil

            shutil.chown(path, user=run_as)
        if self.is_running():
            self._run(postgres_bin_path() / "pg_ctl", "-D", self.pgdata, "reload", user=run_as)
            log.info("the warehouse's settings changed (%s): reloaded; shared_buffers and the worker counts take "
                     "effect at the next restart (make warehouse-stop, then start)", path)

    def stop(self) -> bool:
        """Stop the server; return whether it was running."""
        POSTGRES_BIN_PATH = postgres_bin_path()
        if not self.is_running():
            return False
        self._run(POSTGRES_BIN_PATH / "pg_ctl", "-D", self.pgdata, "-m", "fast", "-w", "stop",
                  user=SERVER_USER if os.geteuid() == 0 else None)
        return True

    def _require_passwords(self, bin_path: Path, run_as: str | None) -> None:
        """Passwords for every connection: generated (once) into the credentials file, the superuser's
        set while the server still trusts, then pg_hba.conf asks for SCRAM and the server reloads."""
        import psycopg2

        hba = self.pgdata / "pg_hba.conf"
        if hba.read_text().startswith(HBA_MARKER):
            if self.password("postgres") is None:
                raise RuntimeError(
                    f"the embedded warehouse in {self.home} asks for passwords, and {self.credentials_file}, "
                    "which holds them, is missing: restore it from your backup, or start a new, empty warehouse "
                    "with `make clean` (its data is lost)")
            return
        credentials = self._credentials()
        trusting = psycopg2.connect(f"postgresql://postgres@127.0.0.1:{self.port()}/postgres")
        try:
            with trusting, trusting.cursor() as cur:
                access.set_password(cur, "postgres", credentials["postgres"])
        finally:
            trusting.close()
        hba.write_text(PG_HBA)
        if run_as:
            import shutil

            shutil.chown(hba, user=run_as)
        self._run(bin_path / "pg_ctl", "-D", self.pgdata, "reload", user=run_as)
        log.info("the embedded warehouse now asks every connection for a password (kept in %s)",
                 self.credentials_file)

    def _credentials(self) -> dict[str, str]:
        """The generated passwords, made on first use; the file is the owner's alone (0600)."""
        return access.generated_secrets(self.credentials_file, ("postgres", PIPELINE_LOGIN, access.BI_READER,
                                                                *COMPONENT_LOGINS.values()))

    def _logins(self) -> None:
        """The set-up login (``bank``: creates roles and owns the databases, no superuser), the components'
        logins and ``bi_reader``, each with its generated password; the BI groups, which ``bank`` administers."""
        import psycopg2

        conn = psycopg2.connect(self.server_url())
        try:
            with conn, conn.cursor() as cur:
                access.create_pipeline_login(cur, PIPELINE_LOGIN)
                access.set_password(cur, PIPELINE_LOGIN, self._credentials()[PIPELINE_LOGIN])
                for login in (access.BI_READER, *COMPONENT_LOGINS.values()):
                    access.set_password(cur, login, self._credentials()[login])
        finally:
            conn.close()

    def hand_over(self, database: str) -> None:
        """Give ``database`` and everything in it the superuser owns to the pipeline's login (a
        warehouse made when the pipeline connected as the superuser; a no-op once done)."""
        import psycopg2

        conn = psycopg2.connect(self.server_url(database))
        try:
            with conn, conn.cursor() as cur:
                cur.execute(HAND_OVER.replace("{login}", PIPELINE_LOGIN).replace("{database}", database))
        finally:
            conn.close()

    def _prepare_permissions(self, bin_path: Path) -> str | None:
        if os.geteuid() != 0:
            return None
        import pwd
        import stat

        from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(SERVER_USER)
        ensure_prefix_permissions(bin_path)
        ensure_folder_permissions(bin_path, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(bin_path.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        ensure_prefix_permissions(self.pgdata)
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self.pgdata.chmod(0o700)
        return SERVER_USER

    @staticmethod
    def _run(*args, user: str | None) -> None:
        cmd = [str(a) for a in args]
        result = subprocess.run(cmd, capture_output=True, text=True, user=user, cwd="/")
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def postgres_bin_path() -> Path:
    import warnings

    with warnings.catch_warnings():  # pgserver's import asks platformdirs for a runtime folder it does not use here
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        # as Postgres binds: connections of a server that was killed linger in TIME_WAIT on its port,
        # which would make a plain bind fail although Postgres can listen there again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_until_free(port: int, seconds: float = 20.0) -> bool:
    """Whether ``port`` is free, waiting a little for a server that was just stopped or killed to let go."""
    deadline = time.monotonic() + seconds
    while not _port_is_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


PREFERRED_PORT = 55432


def _free_port() -> int:
    if _port_is_free(PREFERRED_PORT):
        return PREFERRED_PORT
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
