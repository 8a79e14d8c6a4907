"""Monthly PDF for each relationship manager about their own customers, from the marts only.

Every figure comes from ``marts.customer_segments`` (value, tier, segment for the segmentation
run's month) and ``marts.dim_customer`` (the customer's name); each PDF states the run id and
month it was built from, so a number can be traced back through the marts to the deliveries.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4, landscape  # noqa: E402
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # noqa: E402

log = logging.getLogger(__name__)

TIERS = ("platinum", "gold", "iron", "lead")
TIER_COLOURS = {"platinum": "#6b7b8c", "gold": "#c9a227", "iron": "#8a8d91", "lead": "#4a4f57"}
CJK_FONT = "WenQuanYiMicroHei"  # shipped by a PyPI package, subset-embedded in every PDF

CUSTOMERS_QUERY = """
    select s.customer_id, c.full_name, s.customer_type, s.value_tier, s.relationship_type, s.segment_name,
           s.is_outlier, s.value_rank, s.daily_average_deposit_balance_cny, s.daily_average_wealth_balance_cny,
           s.daily_average_loan_balance_cny, s.transaction_count, s.current_value_cny
    from marts.customer_segments as s
    left join marts.dim_customer as c on s.customer_id = c.customer_id and c.is_current
    where s.rm_id = %s
    order by s.value_rank
"""

SEGMENTS_QUERY = """
    select segment_name, segment_name_zh, count(*) as customers, max(segment_profile) as profile
    from marts.customer_segments
    where rm_id = %s
    group by 1, 2
    order by 3 desc, 1
"""


@dataclass(frozen=True)
class Book:
    """One RM's book of customers for one month."""
    rm_id: str
    rm_name: str
    sub_branch_name: str
    branch_name: str
    month_start_date: dt.date
    run_id: str
    customers: list[tuple]
    segments: list[tuple] = ()  # (name, Chinese name, the RM's customers in it, the segment's profile)


def _register_font() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        import paperang_p2_fonts_cjk

        font_file = Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc"
        pdfmetrics.registerFont(TTFont(CJK_FONT, str(font_file), subfontIndex=0))


def read_books(conn) -> list[Book]:
    with conn.cursor() as cur:
        cur.execute("""select rm_id, max(rm_name), max(sub_branch_name), max(branch_name), max(month_start_date),
                              max(segmentation_run_id)
                       from marts.customer_segments group by rm_id order by rm_id""")
        heads = cur.fetchall()
        books = []
        for rm_id, rm_name, sub_branch, branch, month, run_id in heads:
            cur.execute(CUSTOMERS_QUERY, (rm_id,))
            customers = cur.fetchall()
            cur.execute(SEGMENTS_QUERY, (rm_id,))
            books.append(Book(rm_id, rm_name or rm_id, sub_branch or "", branch or "", month, run_id, customers,
                              cur.fetchall()))
    return books


def _money(value) -> str:
    return f"{float(value):,.0f}"


def _tier_chart(book: Book, currency: str) -> Image:
    counts = {t: 0 for t in TIERS}
    values = {t: 0.0 for t in TIERS}
    for row in book.customers:
        counts[row[3]] += 1
        values[row[3]] += float(row[12])
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 2.6), dpi=150)
    bar_colours = [TIER_COLOURS[t] for t in TIERS]
    left.bar(TIERS, [counts[t] for t in TIERS], color=bar_colours)
    left.set_title("Customers by tier", fontsize=10)
    right.bar(TIERS, [values[t] for t in TIERS], color=bar_colours)
    right.axhline(0, color="black", linewidth=0.6)
    right.set_title(f"Current value by tier ({currency}, month)", fontsize=10)
    for axis in (left, right):
        axis.tick_params(labelsize=8)
        axis.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    buffer.seek(0)
    return Image(buffer, width=250 * mm, height=72 * mm)


def render_book(book: Book, path: Path, currency: str = "CNY") -> Path:
    """The RM's PDF; amounts are labelled in ``currency`` (configuration: BANK_CURRENCY)."""
    _register_font()
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontName=CJK_FONT, fontSize=9, leading=12)
    title = ParagraphStyle("title", parent=styles["Title"], fontName=CJK_FONT, fontSize=16, alignment=0)
    month = f"{book.month_start_date:%B %Y}"
    total_value = sum(float(r[12]) for r in book.customers)
    total_deposits = sum(float(r[8]) for r in book.customers)
    total_loans = sum(float(r[10]) for r in book.customers)
    tier_mix = ", ".join(f"{t} {sum(1 for r in book.customers if r[3] == t)}" for t in TIERS)
    outliers = sum(1 for r in book.customers if r[6])

    story = [
        Paragraph(f"{book.rm_name} ({book.rm_id}) — customer value, {month}", title),
        Paragraph(f"{book.sub_branch_name}, {book.branch_name}", body),
        Spacer(1, 3 * mm),
        Paragraph(
            f"<b>{len(book.customers)}</b> customers; tier mix: {tier_mix}. Current value this month: "
            f"<b>{currency} {_money(total_value)}</b>. Daily-average deposits {currency} {_money(total_deposits)}, "
            f"daily-average loans {currency} {_money(total_loans)}. {outliers} customer(s) behave unlike their segment "
            f"(outliers: look at them first).", body),
        Spacer(1, 2 * mm),
        _tier_chart(book, currency),
        Spacer(1, 2 * mm),
    ]
    if book.segments:
        segment_rows = [["Segment", "客群", "Your customers", "What the segment's customers look like (medians)"]]
        segment_rows += [[name, name_zh or "", str(count), Paragraph(profile or "", body)]
                         for name, name_zh, count, profile in book.segments]
        segments = Table(segment_rows, repeatRows=1, colWidths=[45 * mm, 30 * mm, 25 * mm, 173 * mm])
        segments.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), CJK_FONT, 7.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f3b57")),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
            ("ALIGN", (2, 0), (2, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]))
        story += [segments, Spacer(1, 3 * mm)]
    header = ["Bank rank", "Customer", "Name", "Type", "Tier", "Relationship", "Segment", "Deposits (avg)",
              "Wealth (avg)", "Loans (avg)", "Txns", f"Value ({currency})"]
    rows = [header]
    for r in book.customers:
        (customer_id, name, ctype, tier, relationship, segment, outlier, rank, deposits, wealth, loans, txns,
         value) = r
        rows.append([str(rank), customer_id, name or "", ctype, tier, relationship,
                     segment + (" *" if outlier else ""), _money(deposits), _money(wealth), _money(loans),
                     str(txns), f"{float(value):,.2f}"])
    table = Table(rows, repeatRows=1, colWidths=[17 * mm, 24 * mm, 33 * mm, 20 * mm, 17 * mm, 22 * mm,
                                                 34 * mm, 24 * mm, 22 * mm, 24 * mm, 12 * mm, 24 * mm])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), CJK_FONT, 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f3b57")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("ALIGN", (7, 0), (-1, -1), "RIGHT"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f0f3f6")]),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
    ]))
    story += [table, Spacer(1, 3 * mm), Paragraph(
        f"* outlier: far from its segment's centre. Source: marts.customer_segments (segmentation run "
        f"{book.run_id}, month {book.month_start_date:%Y-%m}), built by dbt from the raw deliveries; balances are "
        f"daily averages of end-of-day balances. Generated {dt.date.today():%Y-%m-%d}.", body)]

    path.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm,
                            title=f"Customer value {book.rm_id} {book.month_start_date:%Y-%m}",
                            author="bank-customer-value")
    doc.build(story)
    return path


def report_path(reports_dir: Path, book: Book) -> Path:
    """``reports_dir/<YYYY-MM>/<rm_id>.pdf``, never outside ``reports_dir`` whatever the RM id holds
    (the contract already quarantines an id that is not a plain code)."""
    root = Path(reports_dir).resolve()
    path = (root / f"{book.month_start_date:%Y-%m}" / f"{book.rm_id}.pdf").resolve()
    if path.parent.parent != root:
        raise ValueError(f"RM id {book.rm_id!r} (marts.customer_segments) would write its report outside {root}; "
                         "an RM id must be a plain code (docs/data-contract.md): correct it in the RM master")
    return path


def render_all(conn, reports_dir: Path, currency: str = "CNY") -> list[Path]:
    """One PDF per RM in ``reports_dir/<YYYY-MM>/<rm_id>.pdf``; return the paths."""
    books = read_books(conn)
    if not books:
        raise RuntimeError("marts.customer_segments is empty: run the segmentation and dbt build first")
    paths = []
    for number, book in enumerate(books, start=1):
        paths.append(render_book(book, report_path(reports_dir, book), currency))
        if number % 10 == 0 or number == len(books):
            log.info("rendered %d of %d RM reports", number, len(books))
    return paths
