"""What a report shows, read from the report marts for one book and one month.

A book is an RM's customers (level ``rm``), a branch's (``branch``, by the customers' home
sub-branch) or the whole bank's (``bank``, the head-office summary). Its figures come from
``marts.rm_report_books`` (one row per book and month, with the changes against last month and the
month's data completeness) and its customers from ``marts.rm_report_customers`` (one row per
customer and month); a branch book also reads its RMs' rows of ``marts.rm_report_books`` and the
branch's rows of the product and channel profitability marts. The bank's book reads aggregates
only (its branches' rows, the profitability marts summed by product and channel,
``marts.segments_vs_tiers_monthly``) and of its customers only the bank's call list and top
customers, so it costs the same at a million customers as at a thousand. Every query reads one
mart and filters it; nothing here joins or recomputes a figure, so each number in a PDF is a
mart's, traceable from there to the deliveries (docs/value-model.md).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

LEVELS = ("rm", "branch", "bank")
BANK = "bank"  # the bank book's portfolio_id
UNASSIGNED = "unassigned"  # the marts' id for customers without an RM or a branch: no reader, no report
MARTS = ("marts.rm_report_books", "marts.rm_report_customers")
BRANCH_MARTS = MARTS + ("marts.product_profitability_monthly", "marts.channel_profitability_monthly")
BANK_MARTS = BRANCH_MARTS + ("marts.segments_vs_tiers_monthly",)
TIERS = ("platinum", "gold", "iron", "lead")
TOP_CUSTOMERS = 20
BRANCH_CALL_LIST = 30


@dataclass(frozen=True, order=True)
class BookKey:
    """One report: a book (``level``, ``portfolio_id``) in one month."""

    month: dt.date
    level: str
    portfolio_id: str

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"report level {self.level!r} is not one of {', '.join(LEVELS)}")
        if self.month.day != 1:
            raise ValueError(f"a report's month is given by its first day, got {self.month}")

    def __str__(self) -> str:
        return f"{self.level} {self.portfolio_id} {self.month:%Y-%m}"

    def to_dict(self) -> dict[str, str]:
        return {"month": f"{self.month:%Y-%m}", "level": self.level, "portfolio_id": self.portfolio_id}

    @classmethod
    def from_dict(cls, values: dict[str, str]) -> BookKey:
        return cls(parse_month(values["month"]), values["level"], values["portfolio_id"])


@dataclass
class Book:
    key: BookKey
    summary: dict  # the book's row of marts.rm_report_books
    customers: list[dict]  # its rows of marts.rm_report_customers, the customers who left included
    members: list[dict] = field(default_factory=list)  # a branch's RMs', the bank's branches' rows of rm_report_books
    products: list[dict] = field(default_factory=list)  # branch: marts.product_profitability_monthly
    channels: list[dict] = field(default_factory=list)  # branch: marts.channel_profitability_monthly
    segment_tiers: list[dict] = field(default_factory=list)  # bank: marts.segments_vs_tiers_monthly

    @property
    def marts(self) -> tuple[str, ...]:
        return {"rm": MARTS, "branch": BRANCH_MARTS, "bank": BANK_MARTS}[self.key.level]

    @property
    def in_book(self) -> list[dict]:
        return [c for c in self.customers if c["is_in_book"]]

    @property
    def call_list(self) -> list[dict]:
        """The at-risk customers in the book, the most worth saving first: the mart's call-list order
        (retention priority, then value at risk, then customer id) — per RM, so a branch's is merged
        on the same keys."""
        at_risk = [c for c in self.in_book if c["call_list_rank"] is not None]
        if self.key.level == "rm":
            return sorted(at_risk, key=lambda c: c["call_list_rank"])
        ordered = sorted(at_risk, key=lambda c: (c["retention_priority_order"], -(c["value_at_risk_cny"] or 0),
                                                 c["customer_id"]))
        return ordered[:BRANCH_CALL_LIST]

    def migrated(self, migration: str) -> list[dict]:
        """The book's customers whose tier moved ``up`` or ``down`` since last month, by value."""
        moved = [c for c in self.in_book if c["migration"] == migration]
        return sorted(moved, key=lambda c: (-c["current_value_cny"], c["customer_id"]))

    @property
    def left(self) -> list[dict]:
        """Customers closed in the month: out of the book, listed under "left"."""
        return sorted((c for c in self.customers if not c["is_in_book"]), key=lambda c: c["customer_id"])

    @property
    def top_customers(self) -> list[dict]:
        return sorted(self.in_book, key=lambda c: (c["value_rank"], c["customer_id"]))[:TOP_CUSTOMERS]

    @property
    def complaints(self) -> list[dict]:
        open_ = [c for c in self.in_book if c["open_complaints"]]
        return sorted(open_, key=lambda c: (-(c["oldest_open_complaint_days"] or 0), c["customer_id"]))

    @property
    def segments(self) -> list[dict]:
        """The segments of the book's customers: name, profile (both languages) and how many, largest first."""
        if self.key.level == "bank":
            counts = Counter()
            names = {}
            for cell in self.segment_tiers:
                counts[cell["segment_id"]] += cell["customers"]
                names[cell["segment_id"]] = cell
            return [{"segment_id": s, "customers": n, "segment_name": names[s]["segment_name"],
                     "segment_name_zh": names[s]["segment_name_zh"], "segment_profile": None,
                     "segment_profile_zh": None}
                    for s, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
        counts = Counter(c["segment_id"] for c in self.in_book if c["segment_id"] is not None)
        first = {}
        for c in self.in_book:
            first.setdefault(c["segment_id"], c)
        return [{"segment_id": s, "customers": n, **{k: first[s][k] for k in (
                    "segment_name", "segment_name_zh", "segment_profile", "segment_profile_zh")}}
                for s, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]

    def tier_counts(self) -> dict[str, int]:
        """The book's customers per tier, as rm_report_books counts them."""
        return {tier: self.summary[f"{tier}_customers"] for tier in TIERS}

    def tier_mix(self) -> list[tuple[dict, dict[str, int]]]:
        """Customers per tier of each part of the book: a branch's sub-branches (its customers by
        sub_branch_id), the bank's branches (their rows); (the part's first row, for its name; counts)."""
        if self.key.level == "bank":
            return [(m, {tier: m[f"{tier}_customers"] for tier in TIERS})
                    for m in sorted(self.members, key=lambda m: m["portfolio_id"])]
        return _by_tier(self.in_book, "sub_branch_id")

    def segments_by_tier(self) -> list[tuple[dict, dict[str, int]]]:
        """Customers per segment × tier; (the segment's first row, for its names; counts per tier)."""
        if self.key.level == "bank":
            cells: dict = {}
            for cell in self.segment_tiers:
                cells.setdefault(cell["segment_id"], (cell, dict.fromkeys(TIERS, 0)))[1][cell["value_tier"]] = \
                    cell["customers"]
            return [cells[s] for s in sorted(cells)]
        return _by_tier(self.in_book, "segment_id")


def _by_tier(customers: list[dict], row_key: str) -> list[tuple[dict, dict[str, int]]]:
    rows: dict = {}
    for c in customers:
        rows.setdefault(c[row_key], []).append(c)
    return [(members[0], {tier: sum(m["value_tier"] == tier for m in members) for tier in TIERS})
            for _, members in sorted(rows.items(), key=lambda item: (item[0] is None, str(item[0])))]


def parse_month(text: str | dt.date) -> dt.date:
    """``YYYY-MM`` (or a date) as the month's first day."""
    if isinstance(text, dt.date):
        return text.replace(day=1)
    try:
        return dt.datetime.strptime(str(text).strip()[:7], "%Y-%m").date()
    except ValueError:
        raise ValueError(f"month {text!r} is not YYYY-MM (e.g. 2026-09)") from None


def months_of_run(conf_month: str | None, segmented_months: list[str] | None,
                  logical_date: dt.date | None) -> list[dt.date]:
    """The months a run of the reports DAG builds, from the run and never from "the latest":
    the month asked for (``conf {"month": "YYYY-MM"}``, a re-print); else the months the triggering
    segments events say were segmented (none when a night segmented no new month); else, for a run
    with a logical date (a manual or test run), that date's month, as of that date."""
    if conf_month:
        return [parse_month(conf_month)]
    if segmented_months is not None:
        return sorted({parse_month(m) for m in segmented_months})
    if logical_date is None:
        raise ValueError("a reports run needs a month: trigger it with conf {\"month\": \"YYYY-MM\"}, or from "
                         "the segments' asset event, or give it a logical date")
    return [logical_date.replace(day=1)]


def _rows(cur, query: str, params: tuple) -> list[dict]:
    cur.execute(query, params)
    names = [column.name for column in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def list_books(conn, month: dt.date, levels: tuple[str, ...] = LEVELS) -> list[BookKey]:
    """Every book of ``levels`` with a row in ``marts.rm_report_books`` for ``month``, the unassigned
    ones left out (nobody reads them; the branch and bank books hold their customers)."""
    with conn.cursor() as cur:
        cur.execute("""select portfolio_level, portfolio_id from marts.rm_report_books
                       where month_start_date = %s and portfolio_id <> %s and portfolio_level = any(%s)
                       order by portfolio_level desc, portfolio_id""", (month, UNASSIGNED, list(levels)))
        return [BookKey(month, lvl, pid) for lvl, pid in cur.fetchall()]


def report_months(conn) -> list[dt.date]:
    with conn.cursor() as cur:
        cur.execute("select distinct month_start_date from marts.rm_report_books order by 1")
        return [row[0] for row in cur.fetchall()]


def read_book(conn, key: BookKey) -> Book:
    """The book ``key`` from the report marts; LookupError, naming the months there are, if it has none."""
    with conn.cursor() as cur:
        summary = _rows(cur, """select * from marts.rm_report_books
                                where month_start_date = %s and portfolio_level = %s and portfolio_id = %s""",
                        (key.month, key.level, key.portfolio_id))
        if not summary:
            months = ", ".join(f"{m:%Y-%m}" for m in report_months(conn)) or "none"
            raise LookupError(f"marts.rm_report_books has no {key.level} book {key.portfolio_id!r} in "
                              f"{key.month:%Y-%m} (months built: {months}). Check the id, or load the month's "
                              "deliveries and run the bank_customer_value DAG, which builds the marts")
        if key.level == "bank":
            return _read_bank(cur, key, summary[0])
        column = "rm_id" if key.level == "rm" else "branch_id"
        customers = _rows(cur, f"""select * from marts.rm_report_customers
                                   where month_start_date = %s and {column} = %s
                                   order by value_rank, customer_id""", (key.month, key.portfolio_id))
        book = Book(key, summary[0], customers)
        if key.level == "branch":
            book.members = _rows(cur, """select * from marts.rm_report_books
                                         where month_start_date = %s and portfolio_level = 'rm' and branch_id = %s
                                         order by current_value_cny desc, portfolio_id""",
                                 (key.month, key.portfolio_id))
            book.products = _rows(cur, """select * from marts.product_profitability_monthly
                                          where month_start_date = %s and branch_id = %s
                                          order by contribution_cny desc, product_code""",
                                  (key.month, key.portfolio_id))
            book.channels = _rows(cur, """select * from marts.channel_profitability_monthly
                                          where month_start_date = %s and branch_id = %s
                                          order by contribution_cny desc, channel""", (key.month, key.portfolio_id))
    return book


def _read_bank(cur, key: BookKey, summary: dict) -> Book:
    """The head-office book: aggregates, and of the customers the bank's call list and top customers."""
    call_list = _rows(cur, """select * from marts.rm_report_customers
                              where month_start_date = %s and is_in_book and call_list_rank is not null
                              order by retention_priority_order, value_at_risk_cny desc nulls last, customer_id
                              limit %s""", (key.month, BRANCH_CALL_LIST))
    top = _rows(cur, """select * from marts.rm_report_customers where month_start_date = %s and is_in_book
                        order by value_rank, customer_id limit %s""", (key.month, TOP_CUSTOMERS))
    customers = list({c["customer_id"]: c for c in call_list + top}.values())
    book = Book(key, summary, customers)
    book.members = _rows(cur, """select * from marts.rm_report_books
                                 where month_start_date = %s and portfolio_level = 'branch'
                                 order by current_value_cny desc, portfolio_id""", (key.month,))
    sums = {"product": ("product_code, product_family", "accounts_held, daily_average_balance_cny, income_cny, "
                        "credit_cost_cny, account_cost_to_serve_cny, contribution_cny",
                        "marts.product_profitability_monthly"),
            "channel": ("channel", "transaction_count, customers, fee_income_cny, cost_to_serve_cny, contribution_cny",
                        "marts.channel_profitability_monthly")}
    for part, (keys, figures, mart) in sums.items():
        totals = ", ".join(f"sum({f}) as {f}" for f in figures.split(", "))
        rows = _rows(cur, f"select {keys}, {totals} from {mart} where month_start_date = %s group by {keys} "
                          f"order by contribution_cny desc, {keys}", (key.month,))
        setattr(book, f"{part}s", rows)
    book.segment_tiers = _rows(cur, """select * from marts.segments_vs_tiers_monthly where month_start_date = %s
                                       order by segment_id, value_tier""", (key.month,))
    return book
