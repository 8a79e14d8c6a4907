"""One settings object, built from environment variables, used by every part of the product.

``WAREHOUSE_URL`` points at any Postgres. Without it, the embedded warehouse (see
``warehouse.embedded``) is used, and it must have been started (``make warehouse-start``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    """The environment does not describe a usable warehouse."""


@dataclass(frozen=True)
class Settings:
    warehouse_url: str
    landing_dir: Path
    reports_dir: Path
    dbt_project_dir: Path
    dbt_target: str
    # the reporting currency's label in reports (BANK_CURRENCY); the figures are the bank's own
    # amounts, whatever their currency: the *_cny names are the contract's, see docs/adopting.md
    currency: str = "CNY"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        url = env.get("WAREHOUSE_URL", "").strip()
        if not url:
            from warehouse import embedded

            url = embedded.running_url()
            if url is None:
                raise SettingsError(
                    "WAREHOUSE_URL is not set and the embedded warehouse is not running: "
                    "start it with `make warehouse-start`, or set WAREHOUSE_URL to a Postgres URL "
                    "(postgresql://user:password@host:port/database)."
                )
        return cls(
            warehouse_url=url,
            landing_dir=Path(env.get("BANK_LANDING_DIR", PROJECT_DIR / "data" / "landing")),
            reports_dir=Path(env.get("BANK_REPORTS_DIR", PROJECT_DIR / "output" / "reports")),
            dbt_project_dir=Path(env.get("DBT_PROJECT_DIR", PROJECT_DIR / "dbt_project")),
            dbt_target=env.get("DBT_TARGET", "warehouse"),
            currency=env.get("BANK_CURRENCY", "CNY").strip() or "CNY",
        )

    def dbt_env(self) -> dict[str, str]:
        """The variables dbt's profiles.yml reads (env_var), derived from the one URL."""
        parts = urlsplit(self.warehouse_url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise SettingsError(f"WAREHOUSE_URL must start with postgresql://, got {parts.scheme}://")
        return {
            "WAREHOUSE_HOST": parts.hostname or "localhost",
            "WAREHOUSE_PORT": str(parts.port or 5432),
            "WAREHOUSE_USER": unquote(parts.username or "postgres"),
            "WAREHOUSE_PASSWORD": unquote(parts.password or ""),
            "WAREHOUSE_DATABASE": (parts.path or "/postgres").lstrip("/") or "postgres",
        }
