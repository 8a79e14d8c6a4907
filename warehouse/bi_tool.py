"""Superset on this machine (``make bi``): the BI tool, in its own environment, against the
warehouse as ``bi_reader``, with the dashboard kept as code (bi/superset_assets.py).

Superset runs from ``.venv-superset`` (``make bi-setup``, bi/requirements.lock), apart from Airflow's
lock. Its metadata (SQLite), secret key and admin password live in ``.superset/`` (the key and the
password generated on first use into ``credentials.json``, readable by its owner only; nothing
prints them). Every start upgrades Superset's metadata, imports the dashboard again (the same ids:
it replaces, never duplicates) and serves with gunicorn on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from warehouse.access import BI_READER, generated_secrets
from warehouse.embedded import EmbeddedWarehouse
from warehouse.settings import PROJECT_DIR, Settings, redacted

log = logging.getLogger(__name__)

SUPERSET_VENV = PROJECT_DIR / ".venv-superset"
BI_DIR = PROJECT_DIR / "bi"
DEFAULT_PORT = 8088


class BiToolError(RuntimeError):
    """Superset cannot be set up or started; the message says what to do."""


def superset_home(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("BANK_SUPERSET_HOME", PROJECT_DIR / ".superset")).resolve()


def credentials(home: Path) -> dict[str, str]:
    """Superset's secret key and admin password, generated on first use (file mode 0600)."""
    home.mkdir(parents=True, exist_ok=True)
    return generated_secrets(home / "credentials.json", ("secret_key", "admin_password"))


def bi_reader_password(settings: Settings, env: dict[str, str]) -> str:
    """bi_reader's password: BI_READER_PASSWORD, else the embedded warehouse's generated one."""
    if env.get("BI_READER_PASSWORD"):
        return env["BI_READER_PASSWORD"]
    embedded = EmbeddedWarehouse.default(env)
    password = embedded.password(BI_READER) if not env.get("WAREHOUSE_URL") else None
    if not password:
        raise BiToolError("bi_reader has no password here: set BI_READER_PASSWORD to the one its DBA gave it "
                          "(alter role bi_reader password ...), or use the embedded warehouse, which makes one")
    return password


def superset_env(settings: Settings, home: Path, env: dict[str, str] | None = None,
                 login: tuple[str, str] | None = None) -> dict[str, str]:
    """The environment Superset and the dashboard import run in (secrets in it, never on a command
    line); Superset reads the warehouse as ``bi_reader`` unless ``login`` (name, password) says another."""
    env = dict(os.environ if env is None else env)
    found = credentials(home)
    user, password = login or (BI_READER, bi_reader_password(settings, env))
    return {**env, "SUPERSET_HOME": str(home), "SUPERSET_CONFIG_PATH": str(BI_DIR / "superset_config.py"),
            "SUPERSET_SECRET_KEY": found["secret_key"], "SUPERSET_ADMIN_PASSWORD": found["admin_password"],
            "FLASK_APP": "superset", "BI_WAREHOUSE_URI": redacted(settings.warehouse_url, user=user),
            "BI_READER_PASSWORD": password, "PYTHONPATH": ""}


def _superset(args: list[str], env: dict[str, str], log_file: Path) -> None:
    binary = SUPERSET_VENV / "bin" / args[0]
    if not binary.exists():
        raise BiToolError(f"Superset is not installed ({binary} is missing): run `make bi-setup`")
    with open(log_file, "a") as out:
        done = subprocess.run([str(binary), *args[1:]], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_DIR)
    if done.returncode != 0:
        raise BiToolError(f"{' '.join(args)} failed (exit {done.returncode}); its log: {log_file}")


def prepare(env: dict[str, str]) -> None:
    """Superset's metadata up to date, its roles, the admin and the dashboard imported again."""
    log_file = Path(env["SUPERSET_HOME"]) / "superset.log"
    for number, step in enumerate((("db", "upgrade"), ("init",)), start=1):
        log.info("Superset %d/3: %s", number, " ".join(step))
        _superset(["superset", *step], env, log_file)
    import_assets(env)


def import_assets(env: dict[str, str]) -> None:
    """The warehouse's database, datasets, charts and dashboard (bi/superset_assets.py), imported
    again over what is there: nothing doubles."""
    log.info("Superset 3/3: the dashboard (%s)", BI_DIR / "superset_assets.py")
    _superset(["python", str(BI_DIR / "superset_assets.py")], env, Path(env["SUPERSET_HOME"]) / "superset.log")


@contextlib.contextmanager
def serving(env: dict[str, str], port: int = DEFAULT_PORT, timeout: float = 180) -> Iterator[str]:
    """Superset served by gunicorn on 127.0.0.1:``port`` until the block ends; yields its URL."""
    url = f"http://127.0.0.1:{port}"
    log_file = Path(env["SUPERSET_HOME"]) / "gunicorn.log"
    with open(log_file, "a") as out:
        server = subprocess.Popen(
            [str(SUPERSET_VENV / "bin" / "gunicorn"), "--workers", "2", "--threads", "4", "--timeout", "120",
             "--bind", f"127.0.0.1:{port}", "superset.app:create_app()"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_DIR)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise BiToolError(f"Superset stopped at start (exit {server.returncode}); its log: {log_file}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
                if answer.status == 200:
                    break
            if time.monotonic() > deadline:
                raise BiToolError(f"Superset did not answer on {url}/health within {timeout:.0f} s; log: {log_file}")
            time.sleep(1)
        log.info("Superset on %s", url)
        yield url
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=30)
        if server.poll() is None:
            server.kill()

