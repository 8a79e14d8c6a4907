"""Shared fixtures: a real Postgres (the embedded one unless WAREHOUSE_URL is set) and fresh databases."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from simulator.bank import SimulationConfig, simulate
from warehouse.db import drop_database, ensure_database
from warehouse.embedded import EmbeddedWarehouse
from warehouse.settings import Settings

TINY_BANK = SimulationConfig(customers=150, start_date=dt.date(2026, 7, 1), end_date=dt.date(2026, 8, 31), seed=7)


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
def postgres_server_url():
    """URL of a real Postgres server's maintenance database; started for the session if needed."""
    if os.environ.get("WAREHOUSE_URL", "").strip():
        yield _with_database(os.environ["WAREHOUSE_URL"].strip(), "postgres")
        return
    warehouse = EmbeddedWarehouse.default()
    started_here = not warehouse.is_running()
    warehouse.start()
    yield warehouse.server_url("postgres")
    if started_here:
        warehouse.stop()


@pytest.fixture
def database_url(postgres_server_url):
    """A new empty database for one test, dropped afterwards."""
    name = f"bank_test_{uuid.uuid4().hex[:10]}"
    ensure_database(postgres_server_url, name)
    yield _with_database(postgres_server_url, name)
    drop_database(postgres_server_url, name)


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
