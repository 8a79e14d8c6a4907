"""One settings object, built from environment variables, used by every part of the product.

``WAREHOUSE_URL`` points at any Postgres. Without it, the embedded warehouse (see
``warehouse.embedded``) is used, and it must have been started (``make warehouse-start``): where it
lives and whether it runs is read here (``EmbeddedLocation``), starting and stopping it is
``warehouse.embedded``'s job. This module only reads; it imports nothing of the product.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent
EMBEDDED_DATABASE = "warehouse"
REPORT_LANGUAGES = ("zh", "en")  # what reports/labels.py translates
SERVER_USER = "pgserver"  # the embedded server's OS user when we are root (Postgres refuses to run as root)
PIPELINE_LOGIN = "bank"  # the embedded warehouse's set-up login: its databases' owner, no superuser
# Each component's own login (warehouse/access.py gives each its rights), and the variable that gives
# its URL for a warehouse other than the embedded one; without it the component uses WAREHOUSE_URL.
COMPONENT_LOGINS = {"loader": "bank_loader", "transformer": "bank_transformer", "ml": "bank_ml",
                    "reports": "bank_reports"}


def component_url_variable(component: str) -> str:
    return f"WAREHOUSE_{component.upper()}_URL"


class SettingsError(RuntimeError):
    """The environment does not describe a usable warehouse."""


@dataclass(frozen=True)
class EmbeddedLocation:
    """Where the embedded warehouse keeps its data and port, and whether its server is running."""

    home: Path

    @classmethod
    def default(cls, env: dict[str, str] | None = None) -> EmbeddedLocation:
        env = os.environ if env is None else env
        return cls(Path(env.get("WAREHOUSE_HOME", PROJECT_DIR / ".warehouse")).resolve())

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def state_file(self) -> Path:
        return self.home / "state.json"

    @property
    def log_file(self) -> Path:
        return self.pgdata / "postgres.log"

    def port(self) -> int | None:
        if not self.state_file.exists():
            return None
        return int(json.loads(self.state_file.read_text())["port"])

    @property
    def credentials_file(self) -> Path:
        """The passwords generated at the first start (the superuser's, bi_reader's): owner-only."""
        return self.home / "credentials.json"

    def password(self, role: str) -> str | None:
        if not self.credentials_file.exists():
            return None
        return json.loads(self.credentials_file.read_text()).get(role)

    def server_url(self, database: str = "postgres", role: str = "postgres") -> str:
        """The URL for ``role`` on ``database``, with its password (never print it: see ``redacted``)."""
        port = self.port()
        if port is None:
            raise SettingsError(f"the embedded warehouse in {self.home} has never been started")
        password = self.password(role)
        user = quote(role) + (f":{quote(password, safe='')}" if password else "")
        return f"postgresql://{user}@127.0.0.1:{port}/{database}"

    def is_running(self) -> bool:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            return False
        except PermissionError:
            return True
        return True

    def running_url(self, role: str = PIPELINE_LOGIN) -> str | None:
        """The URL of the warehouse database, for ``role`` (the set-up login), if the server is running, else None."""
        if self.is_running() and self.port() is not None:
            return self.server_url(EMBEDDED_DATABASE, role=role)
        return None

    def as_login(self, url: str, role: str) -> str:
        """``url`` for ``role`` instead of its own login, when it points at this embedded server as the
        set-up login and the credentials file holds ``role``'s password; else ``url`` as it is."""
        parts = urlsplit(url)
        password = self.password(role)
        if (password is None or parts.hostname not in ("127.0.0.1", "localhost") or parts.port != self.port()
                or unquote(parts.username or "") != PIPELINE_LOGIN):
            return url
        netloc = f"{quote(role)}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


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
    # the languages each report is built in (BANK_REPORT_LANGUAGES, comma-separated, zh and/or en)
    report_languages: tuple[str, ...] = ("zh", "en")
    # the most mapped render tasks per level a reports run makes; above it each renders a batch of
    # books (BANK_REPORT_TASKS_MAX; Airflow maps at most [core] max_map_length, 1,024, tasks)
    report_tasks_max: int = 256

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, component: str | None = None) -> Settings:
        """The settings of ``env`` (the process's environment by default), connecting as the set-up login
        or, given a ``component`` (COMPONENT_LOGINS), as that component's login: its own URL variable
        (WAREHOUSE_LOADER_URL, ...), the embedded warehouse's login for it, or else WAREHOUSE_URL's."""
        env = dict(os.environ if env is None else env)
        if component is not None and component not in COMPONENT_LOGINS:
            raise ValueError(f"unknown component {component!r}: one of {', '.join(COMPONENT_LOGINS)}")
        url = env.get("WAREHOUSE_URL", "").strip()
        embedded = EmbeddedLocation.default(env)
        if not url:
            url = embedded.running_url()
            if url is None:
                raise SettingsError(
                    "WAREHOUSE_URL is not set and the embedded warehouse is not running: "
                    "start it with `make warehouse-start`, or set WAREHOUSE_URL to a Postgres URL "
                    "(postgresql://user:password@host:port/database)."
                )
        if component is not None:
            url = env.get(component_url_variable(component), "").strip() or embedded.as_login(
                url, COMPONENT_LOGINS[component])
        return cls(
            warehouse_url=url,
            landing_dir=Path(env.get("BANK_LANDING_DIR", PROJECT_DIR / "data" / "landing")),
            reports_dir=Path(env.get("BANK_REPORTS_DIR", PROJECT_DIR / "output" / "reports")),
            dbt_project_dir=Path(env.get("DBT_PROJECT_DIR", PROJECT_DIR / "dbt_project")),
            dbt_target=env.get("DBT_TARGET", "warehouse"),
            currency=env.get("BANK_CURRENCY", "CNY").strip() or "CNY",
            report_languages=_languages(env.get("BANK_REPORT_LANGUAGES", "zh,en")),
            report_tasks_max=_whole_number("BANK_REPORT_TASKS_MAX", env.get("BANK_REPORT_TASKS_MAX", "256"), 1, 1024),
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


# The secrets the compose stack needs (docker-compose.yml, .env.example) and what makes one unfit.
STACK_SECRETS = ("WAREHOUSE_ADMIN_PASSWORD", "WAREHOUSE_PASSWORD", "WAREHOUSE_LOADER_PASSWORD",
                 "WAREHOUSE_TRANSFORMER_PASSWORD", "WAREHOUSE_ML_PASSWORD", "WAREHOUSE_REPORTS_PASSWORD",
                 "BI_READER_PASSWORD", "AIRFLOW_DB_PASSWORD", "AIRFLOW_JWT_SECRET", "SUPERSET_SECRET_KEY",
                 "SUPERSET_ADMIN_PASSWORD")
FERNET_KEY = "AIRFLOW_FERNET_KEY"
MIN_SECRET_LENGTH = 16


def stack_secret_problems(env: dict[str, str]) -> list[str]:
    """What is wrong with the stack's secrets in ``env``, each as "VARIABLE: rule; what to do" (empty
    when all are fit): every one set, none a placeholder of .env.example, none shorter than 16
    characters or the same as another; the Fernet key a real one (Airflow encrypts connections with it)."""
    import base64
    import binascii

    problems = []
    generate = "generate one with: python -c \"import secrets; print(secrets.token_urlsafe(32))\""
    for name in STACK_SECRETS:
        value = env.get(name, "")
        if not value:
            problems.append(f"{name}: not set; {generate} and put it in .env")
        elif "change-me" in value.lower():
            problems.append(f"{name}: still the placeholder of .env.example; {generate} and put it in .env")
        elif len(value) < MIN_SECRET_LENGTH:
            problems.append(f"{name}: shorter than {MIN_SECRET_LENGTH} characters; {generate}")
    values = [env.get(name) for name in STACK_SECRETS if env.get(name)]
    if len(values) != len(set(values)):
        problems.append(f"{', '.join(STACK_SECRETS)}: two of them are the same; give each its own")
    key = env.get(FERNET_KEY, "")
    try:
        valid = len(base64.urlsafe_b64decode(key.encode())) == 32 if key else False
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        problems.append(f"{FERNET_KEY}: {'not set' if not key else 'not a Fernet key'}; generate one with: python -c "
                        "\"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\"")
    return problems


def redacted(url: str, user: str | None = None) -> str:
    """``url`` without its password (for printing and logs), for ``user`` instead of its own if given."""
    parts = urlsplit(url)
    if parts.password is None and user is None:
        return url
    name = quote(user) if user else (parts.username or "")
    netloc = name + "@" + (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _whole_number(name: str, text: str, least: int, most: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if value is None or not least <= value <= most:
        raise SettingsError(f"{name}={text!r}: give a whole number from {least} to {most}")
    return value


def _languages(text: str) -> tuple[str, ...]:
    languages = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [lang for lang in languages if lang not in REPORT_LANGUAGES]
    if unknown or not languages:
        raise SettingsError(f"BANK_REPORT_LANGUAGES={text!r}: give one or more of {', '.join(REPORT_LANGUAGES)}, "
                            "comma-separated (e.g. zh,en)")
    return languages
