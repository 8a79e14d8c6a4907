"""The information query: one customer's 360 view, individual or enterprise, read from ``bi`` as
the caller may see it (``python -m warehouse lookup``).

It reads ``bi.customer_360`` and the customer's latest month of ``bi.customer_monthly``, so the row
scope and masking of ``bi`` apply (docs/bi.md): an RM who looks up another RM's customer finds
nothing, and a branch manager reads names masked. It runs as the login of the connection, or, with
``as_login``, as that login (``set role``: a data engineer checking what an RM sees). Every value a
user gives reaches SQL as a parameter or a quoted identifier.
"""

from __future__ import annotations

from psycopg2 import sql

# what the lookup shows, in order: (column, label); the kind's own fields after the common ones
COMMON = (("customer_id", "Customer"), ("customer_type", "Type"), ("full_name", "Name"),
          ("national_id_masked", "National id"), ("phone_masked", "Phone"), ("district", "District"),
          ("onboarding_date", "Customer since"), ("tenure_years", "Tenure (years)"),
          ("rm_id", "RM"), ("rm_name", "RM name"), ("sub_branch_name", "Sub-branch"), ("branch_name", "Branch"))
INDIVIDUAL = (("gender", "Gender"), ("occupation", "Occupation"), ("income_band", "Income band"))
ENTERPRISE = (("industry", "Industry"), ("group_id", "Group"))
HOLDINGS = (("open_accounts", "Open accounts"), ("product_types_held", "Products"),
            ("balances_as_of_date", "Balances as of"), ("deposit_balance_cny", "Deposits"),
            ("wealth_balance_cny", "Wealth"), ("loan_outstanding_cny", "Loans outstanding"),
            ("max_days_past_due", "Days past due (max)"), ("last_transaction_date", "Last transaction"),
            ("last_interaction_date", "Last contact"), ("complaints_last_90_days", "Complaints (90 days)"))
MONTH = (("month_start_date", "Month"), ("value_tier", "Tier"), ("current_value_cny", "Current value"),
         ("segment_name", "Segment"), ("churn_risk_score", "Churn risk"), ("churn_risk_reasons", "Why"),
         ("next_best_action_en", "Next best action"), ("clv_12m_cny", "CLV 12 months"),
         ("potential_value_cny", "Potential value"))


class NotFound(LookupError):
    """No customer the caller may see matches."""


def _rows(cur, query: sql.Composable, params: tuple) -> list[dict]:
    cur.execute(query, params)
    names = [column.name for column in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def lookup(conn, customer_id: str | None = None, name: str | None = None,
           as_login: str | None = None) -> list[dict]:
    """The customers matching ``customer_id`` (exactly) or ``name`` (a part of it, as the caller sees
    names), at most 20, each as {'customer': bi.customer_360 row, 'month': latest bi.customer_monthly
    row or None}. NotFound when the caller may see none."""
    if bool(customer_id) == bool(name):
        raise ValueError("look a customer up by id or by a part of the name, one of the two")
    with conn.cursor() as cur:
        if as_login:
            cur.execute(sql.SQL("set local role {}").format(sql.Identifier(as_login)))
        if customer_id:
            where, param = sql.SQL("customer_id = %s"), customer_id.strip()
        else:
            pattern = name.strip().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
            where, param = sql.SQL("full_name like %s"), f"%{pattern}%"
        customers = _rows(cur, sql.SQL("select * from bi.customer_360 where {} order by customer_id limit 20")
                          .format(where), (param,))
        found = []
        for customer in customers:
            months = _rows(cur, sql.SQL("""select * from bi.customer_monthly where customer_id = %s
                                           order by month_start_date desc limit 1"""), (customer["customer_id"],))
            found.append({"customer": customer, "month": months[0] if months else None})
    conn.rollback()  # the role was the transaction's only
    if not found:
        raise NotFound(f"no customer {'with id ' + repr(customer_id) if customer_id else 'named like ' + repr(name)}"
                       " that this login may see (an RM sees their own customers, a branch manager the branch's)")
    return found


def format_customer(entry: dict) -> str:
    """One customer as label: value lines, the kind's own fields and the latest month included."""
    customer, month = entry["customer"], entry["month"]
    kind = ENTERPRISE if customer["customer_type"] == "enterprise" else INDIVIDUAL
    lines = [f"{label:<22}{_show(column, customer[column])}" for column, label in COMMON + kind + HOLDINGS]
    if month:
        lines += [f"{label:<22}{_show(column, month[column])}" for column, label in MONTH]
    return "\n".join(lines)


def _show(column: str, value) -> str:
    if value is None:
        return "—"
    if column == "churn_risk_score":
        return f"{float(value):.1%}"
    if isinstance(value, float):
        return f"{value:.1f}"
    if column.endswith("_cny"):
        return f"{value:,.0f}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
