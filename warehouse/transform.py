"""The transformation runner: dbt, in this process (``run_dbt``).

dbt runs through its Python API (``dbtRunner``), not as a subprocess: importing dbt and parsing the
project cost about ten seconds, which a subprocess would pay on every call and the history replay
once per run. The project is parsed once per process and warehouse (``_parsed``), and every later
call reuses that manifest. dbt's own events go to this module's logger ("dbt | ..."), so that they
reach the Airflow task log; dbt's log file stays where ``DBT_LOG_PATH`` says.

``run_dbt`` holds the warehouse write lock (``warehouse.db.transform_lock``) for its run: no delivery
commits while dbt reads ``raw``. A caller that holds it already (the history replay) uses
``invoke_dbt``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import OrderedDict
from collections.abc import Iterator

import yaml

from warehouse.db import transform_lock
from warehouse.settings import Settings

log = logging.getLogger(__name__)

DBT_LEVELS = {"info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}  # debug is the log file's
# vars that only macros read, at run time (macros/snapshot_business_date.sql, overrides/get_where_subquery.sql):
# they do not change the manifest. Any other var given on a call is parsed with (it may change a config).
RUNTIME_VARS = frozenset({"snapshot_date", "test_every_row"})
PARSED_KEPT = 4  # manifests kept per process (one per warehouse database; the tests use many)
_PARSED: OrderedDict[tuple, object] = OrderedDict()


class DbtError(RuntimeError):
    pass


def run_dbt(args: list[str], settings: Settings | None = None) -> None:
    """Run ``dbt <args>`` in the dbt project, holding the warehouse write lock; raise DbtError on failure."""
    settings = settings or Settings.from_env(component="transformer")
    with transform_lock(settings):  # no delivery commits while dbt reads raw
        invoke_dbt(args, settings)


def invoke_dbt(args: list[str], settings: Settings) -> None:
    """Run ``dbt <args>`` with the project parsed once for this process (the caller holds the write lock).

    The failure names the command and holds the last 40 lines dbt logged (a failing model or test
    among them)."""
    from dbt.cli.main import dbtRunner

    tail: list[str] = []

    def relay(event) -> None:
        level = DBT_LEVELS.get(event.info.level)
        if level is not None and event.info.msg:
            log.log(level, "dbt | %s", event.info.msg)
            tail.append(event.info.msg)
            del tail[:-40]

    common = _common_args(settings)
    vars_given = args[args.index("--vars") + 1] if "--vars" in args else "{}"
    parse_vars = "" if set(yaml.safe_load(vars_given) or {}) <= RUNTIME_VARS else vars_given
    log.info("running dbt %s", " ".join(args))
    with _dbt_environment(settings):
        manifest = _parsed(settings, common, parse_vars)
        # the console logger is off: the callback relays the same events to this module's logger
        result = dbtRunner(manifest=manifest, callbacks=[relay]).invoke([*args, *common, "--log-level", "none"])
    if not result.success:
        reason = f"{type(result.exception).__name__}: {result.exception}" if result.exception else "see below"
        raise DbtError(f"dbt {' '.join(args)} failed ({reason}); last lines:\n" + "\n".join(tail))


def _common_args(settings: Settings) -> list[str]:
    project = str(settings.dbt_project_dir)
    return ["--project-dir", project, "--profiles-dir", project, "--target", settings.dbt_target]


def _parsed(settings: Settings, common: list[str], vars_given: str):
    """The project's manifest for this warehouse, parsed on first use. The key holds what a parse
    depends on besides the project's files: the database its nodes name, the target, the target
    folder (``DBT_TARGET_PATH``), and the vars parsed with."""
    from dbt.cli.main import dbtRunner

    env = settings.dbt_env()
    key = (tuple(common), env["WAREHOUSE_HOST"], env["WAREHOUSE_PORT"], env["WAREHOUSE_DATABASE"],
           env["WAREHOUSE_USER"], os.environ.get("DBT_TARGET_PATH", ""), vars_given)
    if key in _PARSED:
        _PARSED.move_to_end(key)
        return _PARSED[key]
    parse = ["parse", *common, "--log-level", "none", *(["--vars", vars_given] if vars_given else [])]
    parsed = dbtRunner().invoke(parse)
    if not parsed.success:
        raise DbtError(f"dbt parse of {settings.dbt_project_dir} failed: {parsed.exception}. Run `dbt parse` in "
                       "that folder to see the file and line")
    _PARSED[key] = parsed.result
    while len(_PARSED) > PARSED_KEPT:
        _PARSED.popitem(last=False)
    return parsed.result


@contextlib.contextmanager
def _dbt_environment(settings: Settings) -> Iterator[None]:
    """The variables dbt's profile reads, for the length of one call (restored afterwards)."""
    values = {**settings.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
