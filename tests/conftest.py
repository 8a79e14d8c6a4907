"""Shared fixtures: a real Postgres (the embedded one unless WAREHOUSE_URL is set) and fresh databases."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from simulator.bank import SimulationConfig, simulate
from warehouse.cli import scratch_database
from warehouse.embedded import EmbeddedWarehouse
from warehouse.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... under pytest -n; None in a plain run
if WORKER:
    # concurrent dbt runs must not share a target folder (manifest, partial parse, run results) or a
    # log file: each worker has its own, inherited by the Airflow tasks and dbt runs it starts
    os.environ.setdefault("DBT_TARGET_PATH", str(ROOT / "dbt_project" / "target" / WORKER))
    os.environ.setdefault("DBT_LOG_PATH", str(ROOT / "dbt_project" / "logs" / WORKER))


def dbt_target_path() -> Path:
    """Where this test process's dbt runs write their artifacts (manifest.json, catalog.json)."""
    return Path(os.environ.get("DBT_TARGET_PATH", ROOT / "dbt_project" / "target"))


def _embedded() -> EmbeddedWarehouse | None:
    return None if os.environ.get("WAREHOUSE_URL", "").strip() else EmbeddedWarehouse.default()


def pytest_configure(config):
    """The embedded warehouse is started once, by the process that runs the session (under -n the
    controller, before any worker), and stopped at its end only if it started it here."""
    warehouse = _embedded()
    config.started_warehouse = False
    if warehouse is not None and not hasattr(config, "workerinput") and not warehouse.is_running():
        warehouse.start()
        config.started_warehouse = True


def pytest_unconfigure(config):
    if getattr(config, "started_warehouse", False):
        _embedded().stop()


TINY_BANK = SimulationConfig(customers=150, start_date=dt.date(2026, 7, 1), end_date=dt.date(2026, 8, 31), seed=7)


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
def postgres_server_url():
    """URL of a real Postgres server's maintenance database; started for the session if needed."""
    warehouse = _embedded()
    if warehouse is None:
        yield _with_database(os.environ["WAREHOUSE_URL"].strip(), "postgres")
        return
    warehouse.start()  # started by pytest_configure; a no-op unless it was stopped since
    yield warehouse.server_url("postgres")


@pytest.fixture
def database_url(postgres_server_url):
    """A new empty database for one test (owned by the pipeline login, as the product connects), dropped
    afterwards."""
    with scratch_database("bank_test") as url:
        yield url


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings.from_env({"WAREHOUSE_URL": database_url, "BANK_LANDING_DIR": str(tmp_path / "landing"),
                              "BANK_REPORTS_DIR": str(tmp_path / "reports")})


@pytest.fixture
def conn(database_url):
    connection = psycopg2.connect(database_url)
    yield connection
    connection.rollback()
    connection.close()


@pytest.fixture(scope="session")
def tiny_bank(tmp_path_factory) -> Path:
    """The tiny bank's deliveries (written once per session; tests copy before changing them)."""
    root = tmp_path_factory.mktemp("tiny_bank")
    simulate(TINY_BANK, root / "landing", root / "ground_truth")
    return root / "landing"
