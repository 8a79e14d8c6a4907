"""Who may read what through BI tools (DESIGN.md §6): the BI roles, their logins, and the row scope
the ``bi`` views apply.

BI tools read the schema ``bi`` only: views over the marts (dbt, ``dbt_project/models/bi``), owned
by ``bi_view_owner`` and masking personal data (``mask_pii``); Postgres's row security on each mart
they read filters its rows for the caller (macro ``bi_row_security``, :func:`row_security_problems`).
Three group roles hold the read grant:

- ``bi_head_office``: every row (``bi_reader``, the login the demo prints for BI tools, is one);
- ``bi_branch_managers``: a branch's rows; one login per branch, ``bm_<branch id>``;
- ``bi_rms``: an RM's own customers; one login per RM of the RM master, ``rm_<rm id>``.

The pipeline's components connect each as its own login, with the rights its job needs and no more
(:func:`grant_components`): the loader (``bank_loader``) owns ``raw`` and ``audit``, the transformer
(``bank_transformer``, dbt and the history replay) owns dbt's schemas and reads the loader's, the ML
writer (``bank_ml``) owns ``ml`` and reads the marts, the report builder (``bank_reports``) reads the
marts and ``ml`` and writes nothing. ``bank``, the set-up login, creates the roles and the schemas,
keeps ``security``, and may act as each component (it upgrades their tables); none is a superuser.

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

from warehouse.settings import COMPONENT_LOGINS

log = logging.getLogger(__name__)

LOADER, TRANSFORMER, ML_WRITER, REPORT_BUILDER = (COMPONENT_LOGINS[c] for c in ("loader", "transformer", "ml",
                                                                              "reports"))
# the schemas dbt builds (models/, seeds, snapshots), the transformer's
DBT_SCHEMAS = ("staging", "intermediate", "marts", "bi", "parameters", "snapshots")
SCHEMA_OWNERS = {"raw": LOADER, "audit": LOADER, "ml": ML_WRITER, **dict.fromkeys(DBT_SCHEMAS, TRANSFORMER)}
# who reads which schemas, owned by whom
READS = ((TRANSFORMER, ("raw", "audit"), LOADER), (TRANSFORMER, ("ml",), ML_WRITER),
         (ML_WRITER, ("staging", "intermediate", "marts"), TRANSFORMER),
         (REPORT_BUILDER, ("marts",), TRANSFORMER), (REPORT_BUILDER, ("ml",), ML_WRITER))

HEAD_OFFICE = "bi_head_office"
BRANCH_MANAGERS = "bi_branch_managers"
RMS = "bi_rms"
GROUP_ROLES = (HEAD_OFFICE, BRANCH_MANAGERS, RMS)
BI_READER = "bi_reader"
# owns the bi views (dbt's post-hook), so that the marts' row security applies to what they read
BI_VIEW_OWNER = "bi_view_owner"
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
    for group in (*GROUP_ROLES, BI_VIEW_OWNER):
        _create_role(cur, group, login=False)
    _create_role(cur, BI_READER, login=True, member_of=HEAD_OFFICE)


def _grant_membership(cur, role: str, member: str | None = None, inherit: bool = True) -> None:
    """Let ``member`` (the connected login by default) take ``role`` (``set role``) and, with ``inherit``,
    hold its rights: the set-up login acts for each component (it upgrades the tables a component owns
    and sets its default privileges); without, it may only take an RM's login (the information query's
    --as). From Postgres 16 a role's creator administers it but may not take it until it grants itself
    that."""
    who = sql.Identifier(member) if member else sql.SQL("current_user")
    name = sql.Literal(member) if member else who
    cur.execute(sql.SQL("select pg_has_role({0}, %s, 'set') and (not %s or pg_has_role({0}, %s, 'usage')), "
                        "current_setting('server_version_num')::int").format(name), (role, inherit, role))
    member_already, version = cur.fetchone()
    if not member_already:
        options = sql.SQL(f" with inherit {'true' if inherit else 'false'}, set true") if version >= 160000 \
            else sql.SQL("")
        _tolerating_a_concurrent_set_up(cur, sql.SQL("grant {} to {}").format(sql.Identifier(role), who) + options)


def create_component_logins(cur, member: str | None = None) -> None:
    """The components' logins (idempotent), each of which ``member`` (the connected set-up login by
    default) may act for. Their passwords are set where the logins are made for a server: the embedded
    warehouse's start (its credentials file), the compose stack's first start (the environment)."""
    for login in COMPONENT_LOGINS.values():
        _create_role(cur, login, login=True)
        _grant_membership(cur, login, member)


def create_pipeline_login(cur, name: str) -> None:
    """The set-up login: it may create roles (the components' and the BI logins), administers the BI
    groups and ``bi_reader``, may act for each component, and is no superuser (the embedded
    warehouse's ``bank``)."""
    _create_role(cur, name, login=True, createrole=True)
    create_roles(cur)
    create_component_logins(cur, member=name)
    # the BI groups, bi_reader, and the RM and branch-manager logins made before it administered them
    cur.execute("""select distinct m.member::regrole::text from pg_auth_members as m
                   where m.roleid in (%s::regrole, %s::regrole)""", (RMS, BRANCH_MANAGERS))
    logins = [login.strip('"') for (login,) in cur.fetchall() if login.strip('"') != name]
    for role in (*GROUP_ROLES, BI_READER, BI_VIEW_OWNER, *COMPONENT_LOGINS.values(), *logins):
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


def grant_components(cur) -> None:
    """Each component's schemas and rights in this database (idempotent; run by the set-up login once
    the schemas (SCHEMA_OWNERS) and their tables exist, from warehouse.schema). Rights on what a
    component creates later (a delivery's raw partition, a dbt model) come from default privileges, for
    the component and for the set-up login, which may do any component's work (the tests, a data
    engineer's repair)."""
    create_component_logins(cur)
    ident = sql.Identifier
    cur.execute("select current_database(), current_user")
    database, setup = cur.fetchone()
    for schema, owner in SCHEMA_OWNERS.items():  # the schemas are warehouse.schema's to create
        _give_schema(cur, schema, owner)

    def grant(template: str, **names) -> None:
        cur.execute(sql.SQL(template).format(**{key: sql.SQL(", ").join(map(ident, value)) if isinstance(value, tuple)
                                                else ident(value) for key, value in names.items()}))

    components = tuple(COMPONENT_LOGINS.values())
    grant("grant connect, temporary on database {db} to {logins}", db=database, logins=components)
    grant("grant create on database {db} to {who}", db=database, who=TRANSFORMER)
    for reader, schemas, owner in READS:
        grant("grant usage on schema {schemas} to {who}", schemas=schemas, who=reader)
        grant("grant select on all tables in schema {schemas} to {who}", schemas=schemas, who=reader)
        grant("alter default privileges for role {owners} in schema {schemas} grant select on tables to {who}",
              owners=(owner, setup), schemas=schemas, who=reader)
    # every component checks the schema's version (warehouse.schema.require_schema)
    grant("grant usage on schema audit to {logins}", logins=components)
    grant("grant select on audit.schema_version to {logins}", logins=components)
    # the history replay records the dates it replayed; dbt's bi views read who may see what
    grant("grant insert, delete on audit.snapshot_replays to {who}", who=TRANSFORMER)
    grant("grant usage on schema security to {who}", who=(TRANSFORMER, BI_VIEW_OWNER))
    grant("grant select on security.bi_logins to {who}", who=(TRANSFORMER, BI_VIEW_OWNER))
    # dbt makes the bi views bi_view_owner's; each mart they read grants it select (macro bi_row_security)
    _grant_membership(cur, BI_VIEW_OWNER, member=TRANSFORMER)
    grant("grant usage on schema marts to {who}", who=BI_VIEW_OWNER)
    grant("grant usage, create on schema {bi} to {who}", bi=BI_SCHEMA, who=BI_VIEW_OWNER)  # an owner's right


def _give_schema(cur, schema: str, owner: str) -> None:
    """``schema``, and every table, view and free-standing sequence in it that the connected set-up
    login owns, to ``owner``: a warehouse made before the components had their own logins, or objects a
    test or a data engineer made as the set-up login; a no-op once done. What another role owns stays
    (the bi views are bi_view_owner's: given to the transformer, they would read the marts past their
    row security)."""
    cur.execute("""select nspowner::regrole::text from pg_namespace where nspname = %s""", (schema,))
    if cur.fetchone()[0].strip('"') != owner:
        cur.execute(sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), sql.Identifier(owner)))
    cur.execute("""select c.relname, case c.relkind when 'v' then 'view' when 'm' then 'materialized view'
                                      when 'S' then 'sequence' else 'table' end
                   from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
                   where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm', 'S')
                       and c.relowner = (select oid from pg_roles where rolname = current_user)
                       -- a sequence a column owns follows its table
                       and (c.relkind <> 'S' or not exists (
                           select 1 from pg_depend as d
                           where d.objid = c.oid and d.classid = 'pg_class'::regclass and d.deptype in ('a', 'i')))""",
                (schema,))
    for name, kind in cur.fetchall():
        cur.execute(sql.SQL("alter {} {} owner to {}").format(sql.SQL(kind), sql.Identifier(schema, name),
                                                             sql.Identifier(owner)))


def row_security_problems(cur) -> list[str]:
    """What would let a BI login read rows past the marts' row security: a ``bi`` view that is not
    ``bi_view_owner``'s (it would read as its owner: dbt owns the marts, row security does not bind it),
    or one that reads a table without row security and the policy ``bi_row_scope`` (the login map, which
    the policies read, aside). Empty when every ``bi`` relation is filtered by Postgres."""
    cur.execute("""select distinct view.relname, view.relowner::regrole::text, read.oid::regclass::text,
                       read.relkind in ('r', 'p') and read.relrowsecurity and exists (
                           select 1 from pg_policy as policy
                           where policy.polrelid = read.oid and policy.polname = 'bi_row_scope'
                               and policy.polcmd = 'r' and %s::regrole = any(policy.polroles))
                   from pg_class as view
                   join pg_namespace as schema on schema.oid = view.relnamespace and schema.nspname = %s
                   left join pg_rewrite as rule on rule.ev_class = view.oid
                   left join pg_depend as dependency on dependency.objid = rule.oid
                       and dependency.classid = 'pg_rewrite'::regclass and dependency.refclassid = 'pg_class'::regclass
                   left join pg_class as read on read.oid = dependency.refobjid and read.oid <> view.oid
                   where view.relkind in ('v', 'r', 'p', 'm')
                   order by 1, 3""", (BI_VIEW_OWNER, BI_SCHEMA))
    problems = []
    for view, owner, relation, secured in cur.fetchall():
        if owner.strip('"') != BI_VIEW_OWNER:
            problems.append(f"{BI_SCHEMA}.{view} belongs to {owner}, not {BI_VIEW_OWNER}")
        elif relation is not None and relation != "security.bi_logins" and not secured:
            problems.append(f"{BI_SCHEMA}.{view} reads {relation}, which has no row security with bi_row_scope")
    return sorted(set(problems))


def sync_logins(conn) -> dict[str, int]:
    """Make ``security.bi_logins`` and the RM and branch-manager logins match the masters: a login for
    every RM of ``marts.dim_relationship_manager`` and every branch of ``marts.dim_branch``; a login
    whose RM or branch has gone is removed from the map and can no longer connect. Returns counts."""
    with conn.cursor() as cur:
        ensure_roles(cur)  # the warehouse is set up (warehouse.schema), but the server may be new to it
        problems = row_security_problems(cur)
        if problems:  # before any login is given rows to see
            raise RuntimeError("BI logins would read rows past the marts' row security: " + "; ".join(problems)
                               + ". Rebuild the bi views and the marts they read (dbt build --select +bi "
                               "--full-refresh, as the transformer); every bi view must be made by dbt "
                               "(models/bi, macro bi_row_security on each mart it reads)")
        cur.execute("select rm_id, branch_id from marts.dim_relationship_manager order by rm_id")
        wanted = {login_name("rm", rm_id): (rm_id, branch_id, RMS) for rm_id, branch_id in cur.fetchall()}
        cur.execute("select distinct branch_id from marts.dim_branch where branch_id is not null order by 1")
        wanted.update({login_name("bm", branch_id): (None, branch_id, BRANCH_MANAGERS)
                       for (branch_id,) in cur.fetchall()})
        cur.execute("select login from security.bi_logins")
        gone = {login for (login,) in cur.fetchall()} - set(wanted)
        for login, (rm_id, branch_id, group) in wanted.items():
            _create_role(cur, login, login=True, member_of=group)
            _grant_membership(cur, login, inherit=False)
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
