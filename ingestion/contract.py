"""The source-file contract: every file the bank delivers, its columns, types and rules.

This module is the single definition of the contract. The simulator writes files that follow it,
the loader validates deliveries against it and creates the ``raw`` tables from it, and
``docs/data-contract.md`` describes it for people.

A delivery is one folder per business date (``<landing>/<YYYY-MM-DD>/``) holding the data files
below and a control file, ``control.csv``, with one line per data file: its row count, the total
of its amount column, its SHA-256 and its encoding (UTF-8 or GBK).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CONTROL_FILE = "control.csv"
# The text form of each column kind (ASCII digits only). An amount is CNY with at most two decimals;
# control totals add the amounts that match it.
VALUE_PATTERNS = {
    "money": r"-?\d{1,16}(?:\.\d{1,2})?",
    "rate": r"-?\d{1,4}(?:\.\d{1,4})?",
    "int": r"-?\d{1,9}",
    "date": r"\d{4}-\d{2}-\d{2}",
    "timestamp": r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}",
    # ids and codes: letters, digits, '_', '.', '-'; never a path separator, a space or a control
    # character (an RM's id names the folder its PDF is written to)
    "code": r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
}
MONEY_PATTERN = re.compile(VALUE_PATTERNS["money"], re.ASCII)
CONTROL_COLUMNS = ("business_date", "file_name", "encoding", "row_count", "amount_total", "sha256")
ENCODINGS = ("utf-8", "gbk")

# Column kinds and the Postgres type each lands as in ``raw``.
PG_TYPES = {
    "text": "text",
    "int": "integer",
    "money": "numeric(18,2)",
    "rate": "numeric(9,4)",
    "date": "date",
    "timestamp": "timestamp",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # a key of PG_TYPES
    nullable: bool = False
    allowed: tuple[str, ...] = ()  # closed code list, empty for free values
    non_negative: bool = False
    is_code: bool = False  # an id or code: must match VALUE_PATTERNS["code"]
    max_length: int = 200
    description: str = ""

    @property
    def pg_type(self) -> str:
        return PG_TYPES[self.kind]


@dataclass(frozen=True)
class SourceFile:
    name: str  # file name inside the delivery folder, also the raw table name
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    amount_column: str | None = None  # summed into the control file's amount_total
    is_master: bool = False  # masters are deltas: new and changed records of the day
    # the key identifies one event for ever (a transaction id), not one row per day: a key already
    # delivered on an earlier business date is a duplicate (the earliest delivery wins)
    key_unique_across_deliveries: bool = False
    references: dict[str, str] = field(default_factory=dict)  # column -> file it must exist in

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


ORG_LEVELS = ("head_office", "branch", "sub_branch")
CUSTOMER_TYPES = ("individual", "enterprise")
PRODUCT_FAMILIES = ("deposit", "loan", "wealth")
PRODUCT_TYPES = ("demand_deposit", "time_deposit", "wealth_management", "mortgage", "consumer_loan",
                 "sme_working_capital")
LOAN_CLASSIFICATIONS = ("normal", "special_mention", "substandard", "doubtful", "loss")
# "system": postings the bank makes without the customer (interest credited, standing orders,
# direct debits, batch fees): their own channel, so that they neither cost a branch visit nor
# count as the customer's own activity.
CHANNELS = ("branch", "atm", "mobile", "web", "system")
TRANSACTION_TYPES = ("deposit", "withdrawal", "transfer_in", "transfer_out", "payment", "loan_repayment",
                     "fee", "interest", "standing_order", "direct_debit", "batch_fee")
INTERACTION_TYPES = ("inquiry", "complaint", "visit")
INCOME_BANDS = ("low", "lower_middle", "middle", "upper_middle", "high")

ORG_UNITS = SourceFile(
    name="org_units",
    description="The bank's organisation: head office, branches and sub-branches.",
    is_master=True,
    key=("org_unit_id",),
    columns=(
        Column("org_unit_id", "text", is_code=True, description="Organisation unit code"),
        Column("org_unit_name", "text", description="Display name"),
        Column("org_level", "text", allowed=ORG_LEVELS, description="Level in the hierarchy"),
        Column("parent_org_unit_id", "text", is_code=True, nullable=True,
               description="Parent unit; empty for the head office"),
    ),
)

RELATIONSHIP_MANAGERS = SourceFile(
    name="relationship_managers",
    description="Relationship managers and the sub-branch each works in.",
    is_master=True,
    key=("rm_id",),
    references={"sub_branch_id": "org_units"},
    columns=(
        Column("rm_id", "text", is_code=True, description="Relationship manager code"),
        Column("rm_name", "text", description="Name"),
        Column("sub_branch_id", "text", is_code=True, description="Sub-branch the RM works in"),
        Column("hired_date", "date", description="Date the RM joined the bank"),
    ),
)

PRODUCTS = SourceFile(
    name="products",
    description="The product catalogue: deposit, loan and wealth products.",
    is_master=True,
    key=("product_code",),
    columns=(
        Column("product_code", "text", is_code=True, description="Product code"),
        Column("product_name", "text", description="Display name"),
        Column("product_family", "text", allowed=PRODUCT_FAMILIES, description="deposit, loan or wealth"),
        Column("product_type", "text", allowed=PRODUCT_TYPES, description="Product type within the family"),
        Column("term_months", "int", nullable=True, non_negative=True,
               description="Contract term in months; empty for demand products"),
        Column("rate_type", "text", allowed=("fixed", "floating"), description="fixed or floating"),
    ),
)

CUSTOMERS = SourceFile(
    name="customers",
    description="Customer master: individuals and enterprises, with personal identifiers.",
    is_master=True,
    key=("customer_id",),
    references={"home_sub_branch_id": "org_units", "rm_id": "relationship_managers"},
    columns=(
        Column("customer_id", "text", is_code=True, description="Customer number"),
        Column("customer_type", "text", allowed=CUSTOMER_TYPES, description="individual or enterprise"),
        Column("full_name", "text", description="Name (personal data)"),
        Column("national_id", "text", description="ID card or unified social credit code (personal data)"),
        Column("phone", "text", nullable=True, description="Mobile phone number (personal data)"),
        Column("birth_date", "date", description="Birth date, or founding date for an enterprise"),
        Column("gender", "text", nullable=True, allowed=("F", "M"), description="Individuals only"),
        Column("industry", "text", nullable=True, description="Enterprises only"),
        Column("occupation", "text", nullable=True, description="Individuals only"),
        Column("income_band", "text", allowed=INCOME_BANDS,
               description="Annual income band, or revenue band for an enterprise"),
        Column("district", "text", description="Home district"),
        Column("onboarding_date", "date", description="Date the customer relationship began"),
        Column("home_sub_branch_id", "text", is_code=True, description="Home sub-branch"),
        Column("rm_id", "text", is_code=True, description="Relationship manager"),
        Column("referred_by_customer_id", "text", is_code=True, nullable=True,
               description="Customer who referred them"),
        Column("group_id", "text", is_code=True, nullable=True, description="Family or enterprise group"),
        Column("closed_date", "date", nullable=True, description="Date the relationship closed"),
    ),
)

ACCOUNTS = SourceFile(
    name="accounts",
    description="Account master: one row per deposit, loan or wealth account.",
    is_master=True,
    key=("account_id",),
    references={"customer_id": "customers", "product_code": "products"},
    columns=(
        Column("account_id", "text", is_code=True, description="Account number"),
        Column("customer_id", "text", is_code=True, description="Owner"),
        Column("product_code", "text", is_code=True, description="Product"),
        Column("opened_date", "date", description="Opening date"),
        Column("maturity_date", "date", nullable=True, description="Maturity for time deposits and loans"),
        Column("closed_date", "date", nullable=True, description="Closing date"),
        Column("contract_rate_pct", "rate", description="Contract interest rate, percent a year"),
        Column("principal_cny", "money", nullable=True, non_negative=True,
               description="Original principal of a loan or time deposit, CNY"),
    ),
)

DEPOSIT_BALANCES = SourceFile(
    name="deposit_balances",
    description="End-of-day balance of every open deposit and wealth account (the daily balance table).",
    key=("account_id",),
    amount_column="balance_cny",
    references={"account_id": "accounts"},
    columns=(
        Column("account_id", "text", is_code=True, description="Account number"),
        Column("balance_cny", "money",
               description="End-of-day balance, CNY; negative when a current account is overdrawn"),
        Column("interest_rate_pct", "rate", description="Rate paid to the customer, percent a year; on an "
               "overdrawn day, the rate charged on the overdraft"),
    ),
)

LOAN_BALANCES = SourceFile(
    name="loan_balances",
    description="End-of-day outstanding of every open loan, with days past due and five-tier classification.",
    key=("account_id",),
    amount_column="outstanding_cny",
    references={"account_id": "accounts"},
    columns=(
        Column("account_id", "text", is_code=True, description="Loan account number"),
        Column("outstanding_cny", "money", non_negative=True, description="End-of-day outstanding, CNY"),
        Column("interest_rate_pct", "rate", description="Rate charged, percent a year"),
        Column("days_past_due", "int", non_negative=True, description="Days past due"),
        Column("classification", "text", allowed=LOAN_CLASSIFICATIONS, description="Five-tier classification"),
    ),
)

TRANSACTIONS = SourceFile(
    name="transactions",
    description="Transactions from the settlement system, one row per transaction.",
    key=("transaction_id",),
    key_unique_across_deliveries=True,
    amount_column="amount_cny",
    references={"account_id": "accounts"},
    columns=(
        Column("transaction_id", "text", is_code=True, description="Transaction reference"),
        Column("account_id", "text", is_code=True, description="Account"),
        Column("transaction_at", "timestamp", description="Local time of the transaction"),
        Column("channel", "text", allowed=CHANNELS,
               description="branch, atm, mobile, web, or system (a posting the bank made without the customer)"),
        Column("transaction_type", "text", allowed=TRANSACTION_TYPES, description="Type"),
        Column("amount_cny", "money", non_negative=True, description="Amount, CNY"),
        Column("fee_cny", "money", non_negative=True, description="Fee charged, CNY"),
    ),
)

SERVICE_INTERACTIONS = SourceFile(
    name="service_interactions",
    description="Service interactions: inquiries, complaints, visits, with resolution and satisfaction.",
    key=("interaction_id",),
    key_unique_across_deliveries=True,
    references={"customer_id": "customers"},
    columns=(
        Column("interaction_id", "text", is_code=True, description="Interaction reference"),
        Column("customer_id", "text", is_code=True, description="Customer"),
        Column("interaction_type", "text", allowed=INTERACTION_TYPES, description="inquiry, complaint or visit"),
        Column("channel", "text", allowed=CHANNELS, description="Channel used"),
        Column("opened_at", "timestamp", description="When it was opened"),
        Column("resolved_at", "timestamp", nullable=True, description="When it was resolved; empty if open"),
        Column("satisfaction_score", "int", nullable=True, description="1 (worst) to 5 (best)"),
    ),
)

# In load order: a file's references point at files earlier in the list.
SOURCE_FILES: tuple[SourceFile, ...] = (
    ORG_UNITS,
    RELATIONSHIP_MANAGERS,
    PRODUCTS,
    CUSTOMERS,
    ACCOUNTS,
    DEPOSIT_BALANCES,
    LOAN_BALANCES,
    TRANSACTIONS,
    SERVICE_INTERACTIONS,
)
BY_FILE_NAME = {f.file_name: f for f in SOURCE_FILES}
BY_NAME = {f.name: f for f in SOURCE_FILES}


DOC_INTRO = """# Data contract: the bank's daily deliveries

This page is generated from `ingestion/contract.py` (`python -m ingestion.contract > docs/data-contract.md`);
a test fails when the two disagree.

## Delivery layout
- One folder per business date: `<landing>/<YYYY-MM-DD>/`, holding every file below (a file with
  no rows that day still comes, with its header) and the control file `control.csv`.
- A delivery comes every calendar day. When a day is missing, later days wait for it (the load logs
  which date is missing), so that `raw` is always built in date order.
- Files are CSV (RFC 4180: comma-separated, `"` quoting, one header line with exactly the column
  names below in that order), `\\n` or `\\r\\n` line ends. Dates `YYYY-MM-DD`; timestamps
  `YYYY-MM-DD HH:MM:SS` (bank local time); amounts in CNY with at most 2 decimals; rates in percent a
  year with at most 4 decimals. An empty field is a null.
- Encoding: UTF-8 or GBK (Chinese core systems often deliver GBK), per file, as the control file says.
  A UTF-8 byte-order mark is tolerated.
- Master files (org units, RMs, products, customers, accounts) are deltas: the first delivery holds
  every record, later ones the new and changed records of the day (the latest delivery of a key wins).
  Balance, transaction and interaction files are the day's full extract.

## The control file `control.csv`
UTF-8, header `business_date,file_name,encoding,row_count,amount_total,sha256`, one line per data file:

| column | meaning |
| --- | --- |
| business_date | the delivery's business date; must equal the folder name |
| file_name | a file of this contract |
| encoding | `utf-8` or `gbk` |
| row_count | data lines in the file (header excluded) |
| amount_total | sum of the file's amount column (below), 2 decimals; empty for files without one |
| sha256 | SHA-256 of the file's bytes |

## What the loader does with a delivery
- A whole delivery is refused (the load task fails naming the file, line and rule, and the warehouse
  is left as it was) when: the folder name is not a date, the control file is missing or malformed,
  a file is missing or not in the contract, a checksum differs, the bytes are not in the declared
  encoding, a header differs from the contract, the row count differs, or the amount total differs.
- A bad line is quarantined in `audit.quarantined_rows` (file, line number, rule, text) and the rest
  loads: wrong number of fields, a null where not allowed, a value of the wrong type, an impossible
  date, a negative amount where not allowed, a code outside its list, a duplicate key in the file,
  a NUL byte, a field over 200 characters (however long: a field of any length is quarantined, never
  a reason to refuse the delivery), a blank line; in a master file, a reference to a record never
  delivered on or before that business date (unknown product, sub-branch or RM, an account of an
  unknown customer); a transaction or interaction id already delivered on an earlier date (the
  earliest delivery keeps it). A line ends only at `\\n` (or `\\r\\n`): other control characters
  inside a field (\\x1c-\\x1e, \\x0b, \\x0c, \\x85, U+2028, U+2029) are data.
- An event (a balance, a transaction, an interaction) whose account or customer has not been
  delivered yet is not quarantined: it loads against an inferred member ("not yet delivered",
  `marts.dim_account.is_inferred_member`, the facts' `is_inferred_account` / `is_inferred_customer`),
  registered in `audit.unresolved_references`, and counts for no customer until the record arrives.
  When it does, the loader revises the events' dates (`audit.deliveries.revision_batch_id`) and the
  next transform rebuilds them with the real attributes (late-arriving dimension).
- The quarantine is a repair queue (`audit.quarantined_rows.status`): a line waits until it is
  retried (it passes every rule now: loaded into its own date, once, tagged with the retry's batch),
  superseded (a later delivery sends the same master record again) or released by a data engineer
  with a reason. Master lines that waited for a record are retried by every later delivery;
  `python -m warehouse quarantine list|retry|release` does the rest by hand. Each change is kept on
  the line (batch, time, why) and revises its date.
- A day with no usable balance for an open account (its line quarantined, or left out) is missing,
  not zero: the balance facts carry the last known balance forward (`is_estimated`,
  `estimated_from_date`), and `customer_value_monthly` counts `delivered_balance_days` against
  `estimated_balance_days` and flags the month `is_estimated`.
- An overdrawn current account has a negative `balance_cny`, and on that day `interest_rate_pct` is
  the rate charged: the deposit spread of the day, balance x (FTP rate - rate), is then the
  overdraft's lending spread.
- Dates load in date order: a later delivery waits for a missing day, and a corrected re-delivery
  of a date reloads every later date already loaded (also when it was loaded by a run for its own
  date: the later dates are then stale and pending), so `raw` never depends on arrival order.
- A control file must list every file once; a data file must be a regular file (a folder or a
  symbolic link in its place refuses the delivery).
- The control file's amount total counts the lines whose field count is right and whose amount is a
  number, quarantined or not; every file's lines read = lines loaded + lines quarantined.
- Each file of each date lands in its own partition of its `raw` table (`raw.<file>_<yyyymmdd>`),
  every row tagged with `business_date`, `batch_id` and `source_file`; a row is found in its file by
  its key, which is unique within the file.
- The same delivery twice loads once (the control file's checksum is in `audit.deliveries`); a
  corrected re-delivery of a date replaces everything loaded for that date.

## Mapping a real bank or another dataset
Produce these files per business date from the source systems (core banking for deposits, loans,
customers and accounts; the settlement system for transactions; the CRM for interactions), keep the
column names and units, and write the control file from the same extract. Codes outside the lists
below must be mapped to them at extract time.

## Files
"""


def render_markdown() -> str:
    parts = [DOC_INTRO]
    for source in SOURCE_FILES:
        parts.append(f"\n### `{source.file_name}` → `raw.{source.name}`\n\n{source.description}\n\n")
        scope = "unique across all deliveries" if source.key_unique_across_deliveries else "unique within a file"
        parts.append(f"- Key: {', '.join(source.key)} ({scope})\n")
        if source.amount_column:
            parts.append(f"- Amount column (control total): `{source.amount_column}`\n")
        if source.references:
            refs = ", ".join(f"`{c}` → `{f}.csv`" for c, f in source.references.items())
            parts.append(f"- References (must be delivered on or before the same business date): {refs}\n"
                         if source.is_master else
                         f"- References (a record not delivered yet: loaded against an inferred member): {refs}\n")
        parts.append(f"- Delivered as: {'daily delta' if source.is_master else 'full extract of the day'}\n\n")
        parts.append("| column | type | null | rule | meaning |\n| --- | --- | --- | --- | --- |\n")
        for c in source.columns:
            rules = []
            if c.allowed:
                rules.append("one of " + ", ".join(f"`{a}`" for a in c.allowed))
            if c.non_negative:
                rules.append("≥ 0")
            if c.is_code:
                rules.append("a code (letters, digits, `_`, `.`, `-`)")
            parts.append(f"| {c.name} | {c.kind} ({c.pg_type}) | {'yes' if c.nullable else 'no'} | "
                         f"{'; '.join(rules)} | {c.description} |\n")
    return "".join(parts)


DBT_SOURCES_HEADER = """\
# Generated from ingestion/contract.py (python -m ingestion.contract --dbt-sources); a test fails when
# the two disagree. Descriptions and accepted values are the contract's.
version: 2

sources:
  - name: bank
    description: >
      The bank's daily deliveries as loaded by the extract-load DAG (bank_extract_load), one row
      per source line, tagged with business_date, batch_id and source_file; each table is
      partitioned by business date, one partition per delivered file.
      The file contract is docs/data-contract.md.
    schema: raw
    loaded_at_field: business_date::timestamp
    config:
      freshness:
        warn_after: {count: 2, period: day}
        error_after: {count: 4, period: day}
    tables:
"""


def render_dbt_sources() -> str:
    """dbt's ``_bank__sources.yml``: every raw table and column with the contract's description, and an
    ``accepted_values`` test on every column with a closed code list (JSON strings are YAML strings)."""
    import json

    parts = [DBT_SOURCES_HEADER]
    for source in SOURCE_FILES:
        parts.append(f"      - name: {source.name}\n        description: {json.dumps(source.description)}\n")
        if source.is_master:  # deltas: a day without changes delivers no rows
            parts.append("        config:\n          freshness: null\n")
        parts.append("        columns:\n")
        for c in source.columns:
            parts.append(f"          - name: {c.name}\n            description: {json.dumps(c.description)}\n")
            if c.allowed:
                parts.append("            data_tests:\n              - accepted_values:\n                  arguments:\n"
                             f"                    values: {json.dumps(list(c.allowed))}\n")
    return "".join(parts)


if __name__ == "__main__":
    import sys

    sys.stdout.write(render_dbt_sources() if sys.argv[1:] == ["--dbt-sources"] else render_markdown())
