"""The PDF of one book in one language: the RM report and the branch summary.

Every figure printed is a column of a row ``reports.books`` read from the report marts, formatted
and never recomputed, except counts of the rows listed (customers per tier, per segment). Every page
carries a header with the book and month, "page x of y", and the source: the marts, the
segmentation run and the churn model the figures come from. The CJK font is embedded (subset) in
every PDF and used by the charts, so Chinese renders in any viewer.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    CondPageBreak,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from reports.books import BRANCH_CALL_LIST, TIERS, Book
from reports.labels import month_name, text, word

FONT = "WenQuanYiMicroHei"
FONT_ENV = "BANK_REPORT_FONT"  # a TrueType file (.ttf/.ttc) with CJK glyphs, instead of the packaged one
TIER_COLOURS = {"platinum": "#6b7b8c", "gold": "#c9a227", "iron": "#8a8d91", "lead": "#4a4f57"}
HEADER_BLUE = colors.HexColor("#1f3b57")
SEGMENT_BLUE = colors.HexColor("#3d6a8f")
BRANCH_LIST = BRANCH_CALL_LIST  # a branch's lists of customers (migrations, complaints): its first 30
PAGE = landscape(A4)
MARGIN = 12 * mm
WIDTH = PAGE[0] - 2 * MARGIN


class FontMissing(RuntimeError):
    """The CJK font cannot be found: no report is written without it."""


def font_file(env: dict[str, str] | None = None) -> Path:
    """The CJK font the reports embed: ``BANK_REPORT_FONT`` or WenQuanYi Micro Hei from its package."""
    env = os.environ if env is None else env
    if env.get(FONT_ENV):
        path = Path(env[FONT_ENV])
        where = f"{FONT_ENV}={path}"
    else:
        try:
            import paperang_p2_fonts_cjk
        except ImportError:
            raise FontMissing("the reports' CJK font package (paperang-p2-fonts-cjk) is not installed: run "
                              f"`make setup`, or set {FONT_ENV} to a TrueType font with Chinese glyphs") from None
        path = Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc"
        where = "the package paperang-p2-fonts-cjk"
    if not path.is_file():
        raise FontMissing(f"the reports' CJK font {path} (from {where}) does not exist: reinstall with `make setup`, "
                          f"or set {FONT_ENV} to a TrueType font (.ttf or .ttc) with Chinese glyphs")
    return path


def register_font() -> Path:
    path = font_file()
    if FONT not in pdfmetrics.getRegisteredFontNames():
        try:
            pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
        except Exception as error:  # reportlab raises its own TTFError and plain errors for a bad file
            raise FontMissing(f"the reports' CJK font {path} cannot be read ({error}): set {FONT_ENV} to a "
                              "TrueType font (.ttf or .ttc) with Chinese glyphs") from error
    return path


# --- formatting: a figure as it is printed --------------------------------------------------------

def money(value) -> str:
    return "" if value is None else f"{float(value):,.0f}"


def change(value) -> str:
    """A change against last month, signed; a dash in the book's first month."""
    return "—" if value is None else f"{float(value):+,.0f}"


def percent(value) -> str:
    return "" if value is None else f"{float(value):.1%}"


def segment_name(lang: str, customer: dict) -> str:
    name = customer.get("segment_name_zh" if lang == "zh" else "segment_name")
    if name is None:
        return text(lang, "segment_none")
    return name + (" *" if customer.get("is_segment_outlier") else "")


# --- layout ---------------------------------------------------------------------------------------

class _Styles:
    def __init__(self):
        self.title = ParagraphStyle("title", fontName=FONT, fontSize=16, leading=20, spaceAfter=2 * mm)
        self.heading = ParagraphStyle("heading", fontName=FONT, fontSize=12, leading=15, spaceBefore=3 * mm,
                                      spaceAfter=1.5 * mm, textColor=HEADER_BLUE)
        self.body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
        self.cell = ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9.5)
        self.note = ParagraphStyle("note", fontName=FONT, fontSize=7.5, leading=10, textColor=colors.HexColor("#555"))


def _page_canvas(header: str, source: str, lang: str):
    """A canvas class that draws, on every page, the header and the source and "page x of y" (known
    only once every page is laid out, so the pages are kept and stamped when the PDF is saved)."""

    class PageCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._stamp(number, len(self._pages))
                super().showPage()
            super().save()

        def _stamp(self, number: int, pages: int):
            width, height = PAGE
            self.setFont(FONT, 8)
            self.setFillColor(HEADER_BLUE)
            self.drawString(MARGIN, height - 8 * mm, header)
            self.drawRightString(width - MARGIN, height - 8 * mm, text(lang, "page", page=number, pages=pages))
            self.setStrokeColor(HEADER_BLUE)
            self.line(MARGIN, height - 9.5 * mm, width - MARGIN, height - 9.5 * mm)
            self.setFillColor(colors.HexColor("#555555"))
            self.setFont(FONT, 6.5)
            for line, words in enumerate(reversed(simpleSplit(source, FONT, 6.5, width - 2 * MARGIN))):
                self.drawString(MARGIN, (6 + 3 * line) * mm, words)

    return PageCanvas


_HEADER = ParagraphStyle("header", fontName=FONT, fontSize=7.5, leading=9, textColor=colors.white)
_HEADER_RIGHT = ParagraphStyle("header_right", parent=_HEADER, alignment=2)


def _table(rows: list[list], widths: list[float], numeric_from: int | None = None, right: tuple[int, ...] = ()
           ) -> Table:
    """A table with a header row repeated on each page (its labels wrap within their column);
    columns from ``numeric_from`` on, and the columns ``right``, right-aligned."""
    right = set(right) | (set(range(numeric_from, len(widths))) if numeric_from is not None else set())
    header = [Paragraph(escape(str(label)), _HEADER_RIGHT if i in right else _HEADER)
              for i, label in enumerate(rows[0])]
    table = Table([header, *rows[1:]], repeatRows=1, colWidths=[w * mm for w in widths], hAlign="LEFT")
    style = [
        ("FONT", (0, 0), (-1, -1), FONT, 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_BLUE),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f0f3f6")]),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    style += [("ALIGN", (column, 0), (column, -1), "RIGHT") for column in sorted(right)]
    table.setStyle(TableStyle(style))
    return table


def _charts(book: Book, lang: str) -> Drawing:
    """The tier pyramid (customers per tier, platinum at the top) and the segment mix, drawn as vector
    shapes in the embedded font (rasterising them with matplotlib took half of a report's time)."""
    height, gap = 60 * mm, 12 * mm
    left_width = (WIDTH - gap) * 1 / 2.4
    drawing = Drawing(WIDTH, height)
    tiers = book.tier_counts()
    _bars(drawing, 0, left_width, height, text(lang, "tier_chart"),
          [(word(lang, t), tiers[t], colors.HexColor(TIER_COLOURS[t])) for t in TIERS], centred=True)
    segments = [(segment_name(lang, s).rstrip(" *"), s["customers"], SEGMENT_BLUE) for s in book.segments]
    _bars(drawing, left_width + gap, WIDTH - left_width - gap, height, text(lang, "segment_chart"),
          segments or [(text(lang, "segment_none"), 0, SEGMENT_BLUE)], centred=False)
    return drawing


def _bars(drawing: Drawing, x: float, width: float, height: float, title: str,
          bars: list[tuple[str, int, colors.Color]], centred: bool) -> None:
    """Horizontal bars, the first at the top, each labelled on the left and with its count; a pyramid
    when ``centred``. A narrow bar has its count beside it, a wide one inside."""
    drawing.add(String(x + width / 2, height - 4 * mm, title, fontName=FONT, fontSize=10, textAnchor="middle"))
    label_width = max(stringWidth(label, FONT, 8) for label, _, _ in bars) + 3 * mm
    plot_x, plot_width = x + label_width, width - label_width - 8 * mm
    row = (height - 8 * mm) / len(bars)
    widest = max([count for _, count, _ in bars] + [1])
    for i, (label, count, colour) in enumerate(bars):
        middle = height - 8 * mm - row * (i + 0.5)
        length = plot_width * count / widest
        start = plot_x + (plot_width - length) / 2 if centred else plot_x
        drawing.add(String(plot_x - 2 * mm, middle - 3, label, fontName=FONT, fontSize=8, textAnchor="end"))
        thickness = min(row * 0.7, 9 * mm)  # a chart of one or two bars keeps bars of a bar's width
        drawing.add(Rect(start, middle - thickness / 2, length, thickness, fillColor=colour, strokeColor=None))
        inside = count >= widest * 0.2
        drawing.add(String(start + length / 2 if inside else start + length + 1.5 * mm, middle - 3, f"{count:,}",
                           fontName=FONT, fontSize=8, textAnchor="middle" if inside else "start",
                           fillColor=colors.white if inside else colors.black))


class _Story:
    """The flowables of one report, with the language and styles they are written in."""

    def __init__(self, book: Book, lang: str, currency: str):
        self.book, self.lang, self.currency = book, lang, currency
        self.s = _Styles()
        self.items: list = []

    def t(self, key: str, **values) -> str:
        return text(self.lang, key, **values)

    def w(self, value) -> str:
        return word(self.lang, value)

    def cell(self, value) -> Paragraph:
        return Paragraph(escape(str(value or "")), self.s.cell)

    def heading(self, key: str, **values):
        self.items.append(CondPageBreak(30 * mm))
        self.items.append(Paragraph(escape(self.t(key, **values)), self.s.heading))

    def para(self, content: str, style=None):
        self.items.append(Paragraph(escape(content), style or self.s.body))

    def amount_label(self, key: str) -> str:
        return f"{self.t(key)} ({self.currency})"

    # --- the parts both reports share ---------------------------------------------------------------

    def cover(self, title: str):
        summary = self.book.summary
        self.items.append(Paragraph(escape(title), self.s.title))
        facts = [
            (self.t("branch"), f"{summary['branch_name'] or ''} ({summary['branch_id']})"),
            (self.t("month"), month_name(self.lang, self.book.key.month)),
            (self.t("data_as_of"), f"{summary['data_as_of_date'] or '—'}"),
        ][self.book.key.level == "bank":]
        if self.book.key.level == "rm":
            facts.insert(0, (self.t("rm"), f"{summary['rm_name'] or ''} ({summary['portfolio_id']})"))
            facts.insert(1, (self.t("sub_branch"), summary["sub_branch_name"] or ""))
        self.para("   ·   ".join(f"{label}: {value}" for label, value in facts))
        reconciled = self.t("reconciled") if summary["is_reconciled"] else self.t("not_reconciled")
        self.para(self.t("completeness") + ": " + self.t(
            "completeness_line", delivered=summary["deliveries_loaded"], days=summary["days_in_month"],
            read=summary["lines_read"], loaded=summary["lines_loaded"], quarantined=summary["lines_quarantined"],
            waiting=summary["lines_waiting_in_quarantine"], reconciled=reconciled))
        self.para(self.t("control_line", agreed=summary["control_file_days_reconciled"],
                         checked=summary["control_file_days"])
                  + ("" if summary["is_reconciled_to_control"] else self.t("control_not")))

    def at_a_glance(self):
        summary = self.book.summary
        self.heading("at_a_glance")
        rows = [[self.t("figure"), self.t("this_month"), self.t("change")]]
        for key, column in (("customers", "customers"), ("aum", "assets_under_management_cny"),
                            ("loans", "loans_cny"), ("current_value", "current_value_cny"),
                            ("potential_value", "potential_value_cny"), ("value_at_risk", "value_at_risk_cny"),
                            ("customers_at_risk", "customers_at_risk")):
            label = self.t(key) if column in ("customers", "customers_at_risk") else self.amount_label(key)
            rows.append([label, money(summary[column]), change(summary[f"{column}_change"])])
        self.items.append(_table(rows, [70, 40, 45], numeric_from=1))
        self.para(self.t("glance_note"), self.s.note)

    def call_list(self, customers: list[dict], with_rm: bool = False):
        if not customers:
            self.para(self.t("no_call_list"))
            return
        self.para(self.t("call_list_intro"), self.s.note)
        zh = self.lang == "zh"
        header = [self.t("rank"), self.t("customer"), self.t("name"), self.t("tier"), self.t("segment"),
                  self.t("risk"), self.amount_label("risk_value"), self.t("priority"), self.t("reasons"),
                  self.t("action")]
        widths = [9, 21, 20, 12, 30, 15, 20, 18, 70, 58]
        if with_rm:
            header.insert(1, self.t("rm"))
            widths = [8, 14, 20, 20, 12, 26, 14, 22, 18, 62, 57]
        rows = [header]
        for number, c in enumerate(customers, start=1):
            row = [str(number), c["customer_id"], self.cell(c["customer_name"]), self.w(c["value_tier"]),
                   self.cell(segment_name(self.lang, c)), percent(c["churn_risk_score"]), money(c["value_at_risk_cny"]),
                   self.w(c["retention_priority"]),
                   self.cell(c["churn_risk_reasons_zh"] if zh else c["churn_risk_reasons"]),
                   self.cell(c["next_best_action_zh"] if zh else c["next_best_action_en"])]
            if with_rm:
                row.insert(1, c["rm_id"])
            rows.append(row)
        self.items.append(_table(rows, widths, right=(5 + with_rm, 6 + with_rm)))

    def pyramid_and_segments(self):
        self.heading("pyramid")
        self.items += [_charts(self.book, self.lang), Spacer(1, 3 * mm)]
        segments = self.book.segments
        if segments and self.book.key.level != "bank":  # the bank's segments are the chart's bars
            zh = self.lang == "zh"
            rows = [[self.t("segment"), self.t("your_customers"), self.t("profile")]]
            rows += [[self.cell(s["segment_name_zh"] if zh else s["segment_name"]), str(s["customers"]),
                      self.cell(s["segment_profile_zh"] if zh else s["segment_profile"])] for s in segments]
            self.items.append(_table(rows, [50, 25, WIDTH / mm - 75], right=(1,)))
            self.para(self.t("outlier_note"), self.s.note)

    def _listed(self, customers: list[dict]) -> tuple[list[dict], int]:
        """An RM's customers all; a branch's the first BRANCH_LIST (its RMs' reports list the rest),
        so that a branch of a big bank does not print thousands of rows. (listed, how many left out)."""
        if self.book.key.level == "rm":
            return customers, 0
        return customers[:BRANCH_LIST], max(0, len(customers) - BRANCH_LIST)

    def _more(self, left_out: int):
        if left_out:
            self.para(self.t("more_in_rm_reports", count=f"{left_out:,}"), self.s.note)

    def migrations(self):
        self.heading("migrations")
        for key, moved in (("moved_up", self.book.migrated("up")), ("moved_down", self.book.migrated("down")),
                           ("left", self.book.left)):
            customers, left_out = self._listed(moved)
            rows = [[self.t(key), self.t("name"), self.t("from_to"), self.amount_label("value")]]
            rows += [[c["customer_id"], self.cell(c["customer_name"]),
                      f"{self.w(c['from_tier'])} → {self.w(c['value_tier'])}", money(c["current_value_cny"])]
                     for c in customers]
            if not customers:
                rows.append([self.t("nobody"), "", "", ""])
            self.items.append(_table(rows, [30, 40, 40, 30], numeric_from=3))
            self._more(left_out)
            self.items.append(Spacer(1, 2 * mm))

    def migration_counts(self):
        """The bank's migrations as counts (its lists would run to thousands of customers)."""
        summary = self.book.summary
        self.heading("migrations")
        rows = [[self.t("figure"), self.t("customers")]]
        rows += [[self.t(key), money(summary[column])] for key, column in (
            ("moved_up", "customers_moved_up"), ("moved_down", "customers_moved_down"),
            ("entered", "customers_entered"), ("left", "customers_left"), ("open_complaints", "open_complaints"))]
        self.items.append(_table(rows, [60, 30], numeric_from=1))

    def top_customers(self):
        self.heading("top_customers")
        rows = [[self.t("rank"), self.t("customer"), self.t("name"), self.t("tier"), self.t("segment"),
                 self.t("relationship"), self.amount_label("value"), self.amount_label("clv"),
                 self.amount_label("potential")]]
        rows += [[str(c["value_rank"]), c["customer_id"], self.cell(c["customer_name"]), self.w(c["value_tier"]),
                  self.cell(segment_name(self.lang, c)), self.w(c["relationship_type"]), money(c["current_value_cny"]),
                  money(c["clv_12m_cny"]), money(c["potential_value_cny"])] for c in self.book.top_customers]
        self.items.append(_table(rows, [15, 24, 30, 16, 45, 25, 32, 35, 35], numeric_from=6))

    def complaints(self):
        self.heading("complaints")
        customers, left_out = self._listed(self.book.complaints)
        if not customers:
            self.para(self.t("no_complaints"))
            return
        rows = [[self.t("customer"), self.t("name"), self.t("rm"), self.t("open_complaints"), self.t("oldest_days")]]
        rows += [[c["customer_id"], self.cell(c["customer_name"]), c["rm_id"], str(c["open_complaints"]),
                  str(c["oldest_open_complaint_days"])] for c in customers]
        self.items.append(_table(rows, [26, 40, 20, 20, 30], numeric_from=3))
        self._more(left_out)

    # --- the branch's own parts ---------------------------------------------------------------------

    def league(self):
        bank = self.book.key.level == "bank"
        self.heading("branch_league" if bank else "league")
        rows = [[self.t("rank"), self.t("branch" if bank else "rm"), self.t("name"), self.t("customers"),
                 self.amount_label("value"),
                 self.amount_label("growth"), self.t("at_risk"), self.amount_label("value_at_risk"),
                 self.amount_label("saved"), self.amount_label("lost")]]
        rows += [[str(n), r["portfolio_id"], self.cell(r["branch_name"] if bank else r["rm_name"]),
                  money(r["customers"]), money(r["current_value_cny"]), change(r["current_value_cny_change"]),
                  money(r["customers_at_risk"]), money(r["value_at_risk_cny"]), money(r["at_risk_value_saved_cny"]),
                  money(r["at_risk_value_lost_cny"])]
                 for n, r in enumerate(self.book.members, start=1)]
        self.items.append(_table(rows, [10, 20, 30, 18, 30, 30, 16, 32, 32, 32], numeric_from=3))
        self.para(self.t("league_note"), self.s.note)

    def crosstab(self, heading: str, column: str, parts: list[tuple[dict, dict[str, int]]], label):
        self.heading(heading)
        rows = [[self.t(column)] + [self.w(t) for t in TIERS] + [self.t("total")]]
        for first, counts in parts:
            rows.append([self.cell(label(first))] + [str(counts[t]) for t in TIERS] + [str(sum(counts.values()))])
        self.items.append(_table(rows, [60, 22, 22, 22, 22, 22], numeric_from=1))

    def profitability(self):
        self.heading("product_profitability")
        rows = [[self.t("product"), self.t("accounts"), self.amount_label("balance"), self.amount_label("income"),
                 self.amount_label("credit_cost"), self.amount_label("cost_to_serve"),
                 self.amount_label("contribution")]]
        rows += [[f"{p['product_code']} ({self.w(p['product_family'])})", money(p["accounts_held"]),
                  money(p["daily_average_balance_cny"]), money(p["income_cny"]), money(p["credit_cost_cny"]),
                  money(p["account_cost_to_serve_cny"]), money(p["contribution_cny"])] for p in self.book.products]
        self.items.append(_table(rows, [40, 20, 38, 32, 32, 32, 34], numeric_from=1))
        self.heading("channel_profitability")
        rows = [[self.t("channel"), self.t("transactions"), self.t("customers"), self.amount_label("fees"),
                 self.amount_label("cost_to_serve"), self.amount_label("contribution")]]
        rows += [[self.w(c["channel"]), money(c["transaction_count"]), money(c["customers"]),
                  money(c["fee_income_cny"]), money(c["cost_to_serve_cny"]), money(c["contribution_cny"])]
                 for c in self.book.channels]
        self.items.append(_table(rows, [40, 25, 25, 32, 32, 34], numeric_from=1))


def _rm_story(story: _Story) -> list:
    book, lang = story.book, story.lang
    story.cover(text(lang, "rm_title", rm_name=book.summary["rm_name"] or book.key.portfolio_id,
                     rm_id=book.key.portfolio_id, month=month_name(lang, book.key.month)))
    story.at_a_glance()
    story.heading("call_list")
    story.call_list(book.call_list)
    story.items.append(PageBreak())
    story.pyramid_and_segments()
    story.migrations()
    story.top_customers()
    story.complaints()
    return story.items


def _branch_story(story: _Story) -> list:
    """The branch summary; at the bank level the head-office summary, its parts the branches."""
    book, lang = story.book, story.lang
    zh = lang == "zh"
    if book.key.level == "bank":
        story.cover(text(lang, "bank_title", month=month_name(lang, book.key.month)))
    else:
        story.cover(text(lang, "branch_title", branch_name=book.summary["branch_name"] or book.key.portfolio_id,
                         branch_id=book.key.portfolio_id, month=month_name(lang, book.key.month)))
    story.at_a_glance()
    story.league()
    story.items.append(PageBreak())
    story.pyramid_and_segments()
    if book.key.level == "bank":
        story.crosstab("tier_mix_branch", "branch", book.tier_mix(), lambda m: m["branch_name"] or m["portfolio_id"])
    else:
        story.crosstab("tier_mix", "sub_branch", book.tier_mix(), lambda c: c["sub_branch_name"] or c["sub_branch_id"])
    story.crosstab("segments_vs_tiers", "segment", book.segments_by_tier(),
                   lambda c: (c["segment_name_zh"] if zh else c["segment_name"]) or text(lang, "segment_none"))
    story.profitability()
    story.heading("branch_call_list", count=len(book.call_list))
    story.call_list(book.call_list, with_rm=True)
    if book.key.level == "bank":
        story.top_customers()
        story.migration_counts()
    else:
        story.migrations()
        story.complaints()
    return story.items


def render(book: Book, lang: str, path: Path, currency: str = "CNY", today: dt.date | None = None) -> None:
    """Write ``book`` as a PDF in ``lang`` to ``path``. Amounts are labelled in
    ``currency`` (configuration: BANK_CURRENCY)."""
    register_font()
    story = _Story(book, lang, currency)
    items = _rm_story(story) if book.key.level == "rm" else _branch_story(story)
    summary = book.summary
    who = {"rm": f"{summary['rm_name'] or ''} ({book.key.portfolio_id})",
           "branch": f"{summary['branch_name'] or ''} ({book.key.portfolio_id})",
           "bank": text(lang, "head_office")}[book.key.level]
    kind = text(lang, f"report_kind_{book.key.level}")
    header = f"{kind} · " + text(lang, "header", who=who, month=month_name(lang, book.key.month))
    source = text(lang, "source", marts=", ".join(book.marts), run=summary["segmentation_run_id"] or "—",
                  model=summary["churn_model_id"] or "—", today=f"{today or dt.date.today():%Y-%m-%d}")
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(str(path), pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=14 * mm,
                            bottomMargin=12 * mm, title=f"{kind} {book.key.portfolio_id} {book.key.month:%Y-%m}",
                            author="bank-customer-value")
    doc.build(items, canvasmaker=_page_canvas(header, source, lang))
