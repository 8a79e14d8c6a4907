"""Who may read what through BI tools (DESIGN.md §6): the BI roles, their logins, and the row scope
the ``bi`` views apply.

BI tools read the schema ``bi`` only: views over the marts (dbt, ``dbt_project/models/bi``), each
filtering its rows for the caller (macro ``bi_row_scope``) and masking personal data
(``mask_pii``). Three group roles hold the read grant:

- ``bi_head_office``: every row (``bi_reader``, the login the demo prints for BI tools, is one);
- ``bi_branch_managers``: a branch's rows; one login per branch, ``bm_<branch id>``;
- ``bi_rms``: an RM's own customers; one login per RM of the RM master, ``rm_<rm id>``.

``security.bi_logins`` maps each RM or branch-manager login to its RM and branch;
:func:`sync_logins` keeps it, and the logins, in step with ``marts.dim_relationship_manager`` and
``marts.dim_branch`` after each build (an RM who leaves the master loses the login's right to
connect and every row). Role and login names reach SQL as quoted identifiers only, never as text
spliced into a statement.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from pathlib import Path

from psycopg2 import sql

log = logging.getLogger(__name__)

HEAD_OFFICE = "bi_head_office"
BRANCH_MANAGERS = "bi_branch_managers"
RMS = "bi_rms"
GROUP_ROLES = (HEAD_OFFICE, BRANCH_MANAGERS, RMS)
BI_READER = "bi_reader"
BI_SCHEMA = "bi"

# an RM or branch id becomes part of a login name: letters, digits and '_' only
_ID = re.compile(r"^[A-Za-z0-9_]{1,40}$")


def login_name(kind: str, entity_id: str) -> str:
    """The login of an RM (``kind`` rm) or a branch manager (bm): ``rm_rm0001``, ``bm_br01``."""
    if kind not in ("rm", "bm"):
        raise ValueError(f"login kind {kind!r} is not rm or bm")
    if not _ID.match(entity_id or ""):
        raise ValueError(f"{'RM' if kind == 'rm' else 'branch'} id {entity_id!r} cannot name a login: "
                         "use letters, digits and '_' only (at most 40), or fix the master data")
    return f"{kind}_{entity_id.lower()}"


def _create_role(cur, name: str, login: bool, member_of: str | None = None, createrole: bool = False) -> None:
    """Create the role unless it is there, let it log in, grant it its group; each only when not so
    already (roles belong to the server: another database's set-up, maybe running at the same time,
    may have done it, and a concurrent change of the same role fails)."""
    cur.execute("select rolcanlogin from pg_roles where rolname = %s", (name,))
    found = cur.fetchone()
    if found is None:
        options = ("login" if login else "nologin") + (" createrole" if createrole else "")
        _tolerating_a_concurrent_set_up(cur, sql.SQL("create role {} " + options).format(sql.Identifier(name)))
    elif login and not found[0]:
        cur.execute(sql.SQL("alter role {} login").format(sql.Identifier(name)))
    if member_of:
        cur.execute("select pg_has_role(%s, %s, 'member')", (name, member_of))
        if not cur.fetchone()[0]:
            _tolerating_a_concurrent_set_up(
                cur, sql.SQL("grant {} to {}").format(sql.Identifier(member_of), sql.Identifier(name)))


# duplicate_object, unique_violation, and "tuple concurrently updated" (internal_error)
_CONCURRENT = ("42710", "23505", "XX000")


def _tolerating_a_concurrent_set_up(cur, statement: sql.Composable, params: tuple = ()) -> None:
    cur.execute("savepoint role_change")
    try:
        cur.execute(statement, params or None)
    except Exception as error:  # noqa: BLE001 - re-raised unless another set-up did the same at once
        cur.execute("rollback to savepoint role_change")
        if getattr(error, "pgcode", None) not in _CONCURRENT:
            raise
        log.info("%s: done at the same time by another set-up", statement.as_string(cur).split(" password")[0])
    cur.execute("release savepoint role_change")


def generated_secrets(path: Path, names: tuple[str, ...]) -> dict[str, str]:
    """The secrets kept in ``path`` (JSON), each of ``names`` generated on first use; the file is its
    owner's alone (mode 0600). The embedded warehouse's passwords and Superset's keys live so."""
    found = json.loads(path.read_text()) if path.exists() else {}
    missing = [name for name in names if name not in found]
    if missing:
        found.update({name: secrets.token_urlsafe(32) for name in missing})
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(found, out, indent=2)
    path.chmod(0o600)
    return found


def create_roles(cur) -> None:
    """The group roles and ``bi_reader`` (idempotent; roles belong to the server, not a database)."""
    for group in GROUP_ROLES:
        _create_role(cur, group, login=False)
    _create_role(cur, BI_READER, login=True, member_of=HEAD_OFFICE)


def _may_act_as(cur, login: str) -> None:
    """Let the connected (pipeline) login take ``login``'s role (``set role``: the information query's
    --as), without inheriting its rights. From Postgres 16 a role's creator administers it but may not
    take it until it grants itself that."""
    cur.execute("select pg_has_role(current_user, %s, 'set'), current_setting('server_version_num')::int", (login,))
    may, version = cur.fetchone()
    if not may:
        options = sql.SQL(" with inherit false, set true") if version >= 160000 else sql.SQL("")
        _tolerating_a_concurrent_set_up(cur, sql.SQL("grant {} to current_user").format(sql.Identifier(login))
                                        + options)


def create_pipeline_login(cur, name: str) -> None:
    """The pipeline's login: it may create roles (the BI logins) and administers the BI groups and
    ``bi_reader``, and is no superuser (the embedded warehouse's ``bank``)."""
    _create_role(cur, name, login=True, createrole=True)
    create_roles(cur)
    # the BI groups, bi_reader, and the RM and branch-manager logins made before it administered them
    cur.execute("""select distinct m.member::regrole::text from pg_auth_members as m
                   where m.roleid in (%s::regrole, %s::regrole)""", (RMS, BRANCH_MANAGERS))
    logins = [login.strip('"') for (login,) in cur.fetchall() if login.strip('"') != name]
    for role in (*GROUP_ROLES, BI_READER, *logins):
        cur.execute("""select 1 from pg_auth_members
                       where roleid = %s::regrole and member = %s::regrole and admin_option""", (role, name))
        if cur.fetchone() is None:
            _tolerating_a_concurrent_set_up(cur, sql.SQL("grant {} to {} with admin option").format(
                sql.Identifier(role), sql.Identifier(name)))


def set_password(cur, role: str, password: str) -> None:
    """Give ``role`` a password (stored by the server as a SCRAM verifier; sent as a parameter)."""
    cur.execute("set local password_encryption = 'scram-sha-256'")
    _tolerating_a_concurrent_set_up(cur, sql.SQL("alter role {} password %s").format(sql.Identifier(role)),
                                    (password,))


def ensure_roles(cur) -> None:
    """The roles and the groups' usage of ``bi`` (idempotent; the schemas ``bi`` and ``security`` are
    warehouse.schema's, which calls this)."""
    create_roles(cur)
    for group in GROUP_ROLES:
        cur.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(BI_SCHEMA), sql.Identifier(group)))


def sync_logins(conn) -> dict[str, int]:
    """Make ``security.bi_logins`` and the RM and branch-manager logins match the masters: a login for
    every RM of ``marts.dim_relationship_manager`` and every branch of ``marts.dim_branch``; a login
    whose RM or branch has gone is removed from the map and can no longer connect. Returns counts."""
    with conn.cursor() as cur:
        ensure_roles(cur)  # the warehouse is set up (warehouse.schema), but the server may be new to it
        cur.execute("select rm_id, branch_id from marts.dim_relationship_manager order by rm_id")
        wanted = {login_name("rm", rm_id): (rm_id, branch_id, RMS) for rm_id, branch_id in cur.fetchall()}
        cur.execute("select distinct branch_id from marts.dim_branch where branch_id is not null order by 1")
        wanted.update({login_name("bm", branch_id): (None, branch_id, BRANCH_MANAGERS)
                       for (branch_id,) in cur.fetchall()})
        cur.execute("select login from security.bi_logins")
        gone = {login for (login,) in cur.fetchall()} - set(wanted)
        for login, (rm_id, branch_id, group) in wanted.items():
            _create_role(cur, login, login=True, member_of=group)
            _may_act_as(cur, login)
            cur.execute("""insert into security.bi_logins (login, allowed_rm_id, allowed_branch_id)
                           values (%s, %s, %s)
                           on conflict (login) do update set allowed_rm_id = excluded.allowed_rm_id,
                               allowed_branch_id = excluded.allowed_branch_id""",
                        (login, rm_id, branch_id))
        for login in sorted(gone):
            cur.execute("delete from security.bi_logins where login = %s", (login,))
            cur.execute("select 1 from pg_roles where rolname = %s", (login,))
            if cur.fetchone():
                cur.execute(sql.SQL("alter role {} nologin").format(sql.Identifier(login)))
    conn.commit()
    counts = {"rm_logins": sum(1 for v in wanted.values() if v[2] == RMS),
              "branch_manager_logins": sum(1 for v in wanted.values() if v[2] == BRANCH_MANAGERS),
              "logins_removed": len(gone)}
    log.info("BI logins: %(rm_logins)d RMs, %(branch_manager_logins)d branch managers, %(logins_removed)d removed",
             counts)
    return counts
