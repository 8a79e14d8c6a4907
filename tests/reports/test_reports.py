"""The RM and branch PDFs from a small book: what they print, in both languages, and where they go."""

import datetime as dt
import json
import re
from decimal import Decimal

import pypdfium2
import pytest
from pypdf import PdfReader
from reportlab.graphics.shapes import Rect, String

from reports import document, publish
from reports.books import Book, BookKey, months_of_run
from reports.labels import _TEXT, LANGUAGES

SEPTEMBER = dt.date(2026, 9, 1)


def _customer(customer_id, **values):
    row = {
        "customer_id": customer_id, "customer_name": "王伟", "rm_id": "RM0007", "sub_branch_id": "SB01",
        "sub_branch_name": "第1支行", "branch_id": "BR01", "is_in_book": True, "value_tier": "gold",
        "from_tier": "gold", "migration": "stayed", "value_rank": 10, "relationship_type": "proactive",
        "current_value_cny": Decimal("100.00"), "segment_id": 1, "segment_name": "wealth investors",
        "segment_name_zh": "理财客户", "segment_profile": "85 customers; median deposits 1,068,956",
        "segment_profile_zh": "85位客户；存款中位数1,068,956元", "is_segment_outlier": False,
        "churn_risk_score": None, "call_list_rank": None, "retention_priority": "not_at_risk",
        "retention_priority_order": 4, "churn_risk_reasons": None, "churn_risk_reasons_zh": None,
        "next_best_action_en": "offer wealth management", "next_best_action_zh": "推荐理财产品",
        "value_at_risk_cny": Decimal("0"), "clv_12m_cny": Decimal("1000"), "potential_value_cny": Decimal("50"),
        "open_complaints": 0, "oldest_open_complaint_days": None,
    }
    return {**row, **values}


def _summary(**values):
    row = {
        "portfolio_id": "RM0007", "rm_name": "张强", "sub_branch_name": "第1支行", "branch_id": "BR01",
        "branch_name": "第1分行", "data_as_of_date": dt.date(2026, 9, 30), "days_in_month": 30,
        "deliveries_loaded": 30, "lines_read": 131049, "lines_loaded": 131002, "lines_quarantined": 47,
        "lines_waiting_in_quarantine": 47, "is_reconciled": True, "control_file_days": 120,
        "control_file_days_reconciled": 120, "is_reconciled_to_control": True, "customers": 3,
        "assets_under_management_cny": Decimal("16564265.40"), "loans_cny": Decimal("6130054"),
        "current_value_cny": Decimal("4080.25"), "potential_value_cny": Decimal("1923243"),
        "value_at_risk_cny": Decimal("3444"), "customers_at_risk": 1, "customers_change": 1,
        "assets_under_management_cny_change": Decimal("-1374014"), "loans_cny_change": Decimal("5170"),
        "current_value_cny_change": Decimal("-883"), "potential_value_cny_change": Decimal("60258"),
        "value_at_risk_cny_change": None, "customers_at_risk_change": -3,
        "segmentation_run_id": "2026-09-abc", "churn_model_id": "churn-2026-09-xyz", "value_left_cny": Decimal("0"),
        "platinum_customers": 1, "gold_customers": 1, "iron_customers": 0, "lead_customers": 1,
        "customers_moved_up": 1, "customers_moved_down": 0, "customers_entered": 0, "customers_left": 1,
        "open_complaints": 2, "at_risk_value_saved_cny": Decimal("1007.40"), "at_risk_value_lost_cny": Decimal("232"),
    }
    return {**row, **values}


def _book(level="rm"):
    customers = [
        _customer("C00000001", value_rank=1, value_tier="platinum", current_value_cny=Decimal("4200.50"),
                  migration="up", from_tier="gold"),
        _customer("C00000002", customer_name="李娜", value_rank=900, value_tier="lead",
                  current_value_cny=Decimal("-120.25"), churn_risk_score=Decimal("0.4671"), call_list_rank=1,
                  retention_priority="try", retention_priority_order=2, value_at_risk_cny=Decimal("3444"),
                  churn_risk_reasons="current account emptying over the last weeks",
                  churn_risk_reasons_zh="活期账户余额近几周持续下降", next_best_action_en="make a retention offer",
                  next_best_action_zh="提供挽留优惠", open_complaints=2, oldest_open_complaint_days=41,
                  segment_id=2, segment_name="busy transactors", segment_name_zh="高频交易客户",
                  is_segment_outlier=True),
        _customer("C00000003", customer_name="赵敏", value_rank=50, segment_id=None, segment_name=None,
                  segment_name_zh=None, segment_profile=None, segment_profile_zh=None),  # not segmented: kept
        _customer("C00000004", customer_name="孙丽", value_rank=1500, is_in_book=False, value_tier="iron",
                  from_tier="iron", migration="stayed", current_value_cny=Decimal("32")),
    ]
    key = BookKey(SEPTEMBER, level, {"rm": "RM0007", "branch": "BR01", "bank": "bank"}[level])
    book = Book(key, _summary(portfolio_id=key.portfolio_id), customers)
    if level == "bank":
        book.members = [_summary(portfolio_id="BR01"), _summary(portfolio_id="BR02", branch_name="第2分行",
                                                               platinum_customers=7)]
        book.segment_tiers = [{"segment_id": 1, "segment_name": "wealth investors", "segment_name_zh": "理财客户",
                               "value_tier": "gold", "customers": 29}]
    if level != "rm":
        book.members = book.members or [
            _summary(), _summary(portfolio_id="RM0008", rm_name="刘洋", current_value_cny=Decimal("-237434"),
                                 current_value_cny_change=Decimal("-257874"))]
        book.products = [{"product_code": "ML30", "product_family": "loan", "accounts_held": 76,
                          "daily_average_balance_cny": Decimal("52704210"), "income_cny": Decimal("9601"),
                          "credit_cost_cny": Decimal("690199"), "account_cost_to_serve_cny": Decimal("912"),
                          "contribution_cny": Decimal("-681510")}]
        book.channels = [{"channel": "mobile", "transaction_count": 7219, "customers": 578,
                          "fee_income_cny": Decimal("0"), "cost_to_serve_cny": Decimal("2166"),
                          "contribution_cny": Decimal("-2166")}]
    return book


def _text(path):
    return [page.extract_text() for page in PdfReader(path).pages]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_rm_report_prints_the_books_figures_and_whom_to_call(tmp_path, lang):
    path = tmp_path / f"RM0007.{lang}.pdf"
    document.render(_book(), lang, path, today=dt.date(2026, 10, 2))
    pages = _text(path)
    text = "\n".join(pages)
    # the book at a glance, as the mart holds it: 16,564,265.40 printed to the yuan, changes signed
    for figure in ("16,564,265", "-1,374,014", "6,130,054", "+5,170", "4,080", "-883", "1,923,243", "+60,258"):
        assert figure in text, figure
    assert "—" in text  # value at risk's change: none last month
    # the call list: the one at-risk customer, their risk as a percentage, reason and action in the language
    call_list = pages[0]
    assert "C00000002" in call_list and "46.7%" in call_list and "3,444" in call_list
    if lang == "zh":
        assert "活期账户余额近几周持续下降" in call_list and "提供挽留优惠" in call_list and "争取挽留" in call_list
        assert "联系清单" in call_list and "2026年9月" in text
    else:
        assert "current account emptying over the last weeks" in call_list and "make a retention offer" in call_list
        assert "Call list" in call_list and "try to keep" in call_list and "2026-09" in text
    # a customer without a segment is still listed (among the top customers), marked as such
    assert "C00000003" in text and ("未划分客群" if lang == "zh" else "not segmented") in text
    # who moved up, who left (the customer closed this month is listed there, not in the book)
    assert "C00000001" in text and "C00000004" in text
    assert "2026-09-abc" in text and "churn-2026-09-xyz" in text and "marts.rm_report_customers" in text
    assert ("与控制文件对账：120 个日文件中 120 个" if lang == "zh" else "120 of 120 daily files agree") in text
    # every page carries its number out of all
    for number, page in enumerate(pages, start=1):
        expected = f"第 {number} 页，共 {len(pages)} 页" if lang == "zh" else f"page {number} of {len(pages)}"
        assert expected in page
    font = PdfReader(path).pages[0]["/Resources"]["/Font"]
    assert any("/DescendantFonts" in font[k].get_object() or "/FontDescriptor" in font[k].get_object() for k in font)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_label_is_in_the_language(tmp_path, lang):
    other = "en" if lang == "zh" else "zh"
    path = tmp_path / "r.pdf"
    document.render(_book(), lang, path)
    text = "\n".join(_text(path))
    for key in ("at_a_glance", "call_list", "pyramid", "migrations", "top_customers", "complaints"):
        assert _TEXT[lang][key] in text, key
        assert _TEXT[other][key] not in text, key
    assert ("理财客户" in text) == (lang == "zh") and ("wealth investors" in text) == (lang == "en")


def test_the_first_page_renders_to_pixels(tmp_path):
    path = tmp_path / "r.pdf"
    document.render(_book(), "zh", path)
    pdf = pypdfium2.PdfDocument(str(path))
    pixels = pdf[0].render(scale=1).to_numpy()
    pdf.close()
    assert pixels.shape[1] > pixels.shape[0] > 500  # landscape A4
    inked = (pixels[:, :, :3].mean(axis=2) < 128).mean()
    assert 0.005 < inked < 0.5, f"{inked:.2%} of the first page is ink"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_charts_draw_each_tier_and_segment_to_scale_in_the_language(lang):
    book = _book()
    book.summary.update(platinum_customers=3, gold_customers=12, iron_customers=0, lead_customers=24)
    book.customers.append(_customer("C00000005", value_rank=70))  # a second wealth investor in the book
    drawing = document._charts(book, lang)
    bars = [shape for shape in drawing.contents if isinstance(shape, Rect)]
    words = [shape.text for shape in drawing.contents if isinstance(shape, String)]
    tiers, segments = bars[:4], bars[4:]
    # the pyramid: platinum on top, widths in proportion to the counts (3 : 12 : 0 : 24), centred on one axis
    assert [round(b.width / tiers[1].width, 3) for b in tiers] == [0.25, 1, 0, 2]
    assert len({round(b.x + b.width / 2, 3) for b in tiers}) == 1
    assert [b.y for b in tiers] == sorted((b.y for b in tiers), reverse=True)
    # the segments, largest first: wealth investors 2, busy transactors 1 (the unsegmented customer has no bar)
    assert len(segments) == 2 and segments[0].width == 2 * segments[1].width
    assert {"3", "12", "0", "24", "2", "1"} <= set(words)
    if lang == "zh":
        assert {"各层级客户数", "铂金", "铅", "各客群客户数", "理财客户", "高频交易客户"} <= set(words)
    else:
        assert {"Customers by tier", "platinum", "lead", "Customers by segment", "wealth investors",
                "busy transactors"} <= set(words)


def test_the_branch_report_ranks_its_rms_and_shows_product_and_channel_profitability(tmp_path):
    path = tmp_path / "branch-BR01.en.pdf"
    document.render(_book("branch"), "en", path, currency="HKD")
    text = "\n".join(_text(path))
    assert "RM league table" in text and "RM0008" in text and "-257,874" in text
    assert "At-risk value saved" in text and "1,007" in text and "232" in text
    assert "120 of 120 daily files agree" in text
    assert "ML30 (loan)" in text and "690,199" in text and "-681,510" in text
    assert "Segments × tiers" in text and "Tier mix by sub-branch" in text and "第1支行" in text
    assert "HKD" in text and "CNY" not in text


def test_the_head_office_summary_ranks_the_branches_from_aggregates(tmp_path):
    path = tmp_path / "head-office.zh.pdf"
    document.render(_book("bank"), "zh", path)
    text = "\n".join(_text(path))
    assert "总行：全行客户，2026年9月" in text and "分行排行榜" in text and "第2分行" in text
    assert "各分行层级分布" in text and "理财客户" in text and "29" in text
    assert "marts.segments_vs_tiers_monthly" in text


def test_a_missing_font_fails_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv(document.FONT_ENV, str(tmp_path / "none.ttf"))
    with pytest.raises(document.FontMissing, match=r"none.ttf.*does not exist.*make setup"):
        document.font_file()


def test_publishing_again_replaces_the_files_and_their_manifest_entries(tmp_path, monkeypatch):
    book = _book()
    monkeypatch.setattr(publish, "read_book", lambda conn, key: book)
    first = publish.publish(None, book.key, tmp_path, LANGUAGES)
    book.summary["customers"] = 4
    second = publish.publish(None, book.key, tmp_path, LANGUAGES)
    manifest = json.loads((tmp_path / "2026-09" / "manifest.json").read_text())
    assert [e["file"] for e in manifest["reports"]] == ["RM0007.en.pdf", "RM0007.zh.pdf"]
    assert manifest["reports"] == sorted(second, key=lambda e: e["file"])
    assert {e["customers"] for e in manifest["reports"]} == {4}
    for entry in manifest["reports"]:
        pdf = tmp_path / "2026-09" / entry["file"]
        assert entry["pages"] == len(PdfReader(pdf).pages) > 1
        assert entry["sha256"] == publish._sha256(pdf)
    assert {e["sha256"] for e in first} != {e["sha256"] for e in second}
    assert sorted(p.name for p in (tmp_path / "2026-09").iterdir() if not p.name.startswith(".")) == [
        "RM0007.en.pdf", "RM0007.zh.pdf", "manifest.json"]
    assert publish.missing_reports(tmp_path, [book.key], LANGUAGES, second[0]["built_at"]) == []
    later = BookKey(SEPTEMBER, "branch", "BR01")
    assert publish.missing_reports(tmp_path, [book.key, later], ["zh"], "2000-01-01") == ["2026-09/branch-BR01.zh.pdf"]


@pytest.mark.parametrize(("books", "most", "sizes"), [
    (17, 256, [1] * 17),  # the demo: one book per task
    (256, 256, [1] * 256),
    (257, 256, [2] * 128 + [1]),
    (8_340, 256, [33] * 252 + [24]),  # a million customers' RMs: under Airflow's 1,024 mapped tasks
    (0, 256, []),
])
def test_books_go_to_at_most_so_many_tasks_each_once_and_in_order(books, most, sizes):
    keys = [BookKey(SEPTEMBER, "rm", f"RM{n:05d}") for n in range(books)]
    batches = publish.batches(keys, most)
    assert [len(b) for b in batches] == sizes
    assert [key for batch in batches for key in batch] == keys
    with pytest.raises(ValueError, match="at least one"):
        publish.batches(keys, 0)


def test_one_books_failure_does_not_lose_the_others(tmp_path, monkeypatch):
    keys = [BookKey(SEPTEMBER, "rm", f"RM000{n}") for n in (1, 2, 3)]

    def read(conn, key):
        if key.portfolio_id == "RM0002":
            raise RuntimeError("broken book")
        book = _book()
        book.key = key
        return book

    class Connection:
        rollbacks = 0

        def rollback(self):
            self.rollbacks += 1

    monkeypatch.setattr(publish, "list_books", lambda conn, month, levels: keys)
    monkeypatch.setattr(publish, "read_book", read)
    entries, failures = publish.publish_month(Connection(), SEPTEMBER, tmp_path, ["en"])
    assert [e["file"] for e in entries] == ["RM0001.en.pdf", "RM0003.en.pdf"]
    assert [(str(key), str(error)) for key, error in failures] == [("rm RM0002 2026-09", "broken book")]
    # the manifest, written once for the batch, holds the books built
    manifest = json.loads((tmp_path / "2026-09" / "manifest.json").read_text())
    assert [e["file"] for e in manifest["reports"]] == ["RM0001.en.pdf", "RM0003.en.pdf"]


def test_a_report_cannot_be_written_outside_the_reports_folder(tmp_path):
    root = tmp_path / "reports"
    key = BookKey(SEPTEMBER, "rm", "RM0007")
    assert publish.report_path(root, key, "zh") == (root / "2026-09" / "RM0007.zh.pdf").resolve()
    assert publish.report_path(root, BookKey(SEPTEMBER, "branch", "BR01"), "en").name == "branch-BR01.en.pdf"
    for rm_id in ("../../../../tmp/x/RM0003", "../RM0003", "/etc/RM0003"):
        with pytest.raises(ValueError, match="outside"):
            publish.report_path(root, BookKey(SEPTEMBER, "rm", rm_id), "zh")


def test_the_run_says_which_month_never_the_latest():
    assert months_of_run("2026-08", ["2026-09"], dt.date(2026, 9, 30)) == [dt.date(2026, 8, 1)]  # a re-print
    assert months_of_run(None, ["2026-09", "2026-08"], None) == [dt.date(2026, 8, 1), SEPTEMBER]
    assert months_of_run(None, [], dt.date(2026, 9, 30)) == []  # the segments' event: nothing new segmented
    assert months_of_run(None, None, dt.date(2026, 9, 30)) == [SEPTEMBER]  # a manual run: its date's month
    assert months_of_run(None, None, dt.date(2026, 9, 3)) == [SEPTEMBER]
    with pytest.raises(ValueError, match="YYYY-MM"):
        months_of_run("September", None, None)
    with pytest.raises(ValueError, match="needs a month"):
        months_of_run(None, None, None)


def test_every_label_has_both_languages():
    assert set(_TEXT["en"]) == set(_TEXT["zh"])
    placeholders = {key: sorted(re.findall(r"{(\w+)", value)) for key, value in _TEXT["en"].items()}
    assert placeholders == {key: sorted(re.findall(r"{(\w+)", value)) for key, value in _TEXT["zh"].items()}


def test_a_month_that_does_not_reconcile_says_so_on_the_cover(tmp_path):
    book = _book()
    book.summary.update(is_reconciled=False, control_file_days_reconciled=119, is_reconciled_to_control=False)
    path = tmp_path / "r.pdf"
    document.render(book, "en", path)
    cover = _text(path)[0]
    assert "119 of 120 daily files agree" in cover and "NOT all" in cover and "NOT reconciled" in cover


def test_reportlab_runs_on_its_native_accelerator():
    """rl_accel (a dependency) replaces reportlab's pure-Python number formatting and string widths:
    without it every report takes about a third longer (docs/benchmarks.md)."""
    from reportlab.lib import rl_accel

    assert type(rl_accel.fp_str).__name__ == "builtin_function_or_method"
    assert type(rl_accel.instanceStringWidthTTF).__name__ == "builtin_function_or_method"


@pytest.mark.parametrize("value", ["0", "2000", "many", ""])
def test_a_bad_report_task_limit_says_which_variable_and_what_to_give(value):
    from warehouse.settings import Settings, SettingsError

    env = {"WAREHOUSE_URL": "postgresql://bank@localhost/warehouse", "BANK_REPORT_TASKS_MAX": value}
    with pytest.raises(SettingsError, match=r"BANK_REPORT_TASKS_MAX=.*whole number from 1 to 1024"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "BANK_REPORT_TASKS_MAX": "40"}).report_tasks_max == 40


@pytest.mark.parametrize(("level", "listed", "more"), [("branch", 30, "and 6 more, in their RMs' reports"),
                                                      ("rm", 35, None)])
def test_a_branch_lists_its_30_largest_movers_and_counts_the_rest(tmp_path, level, listed, more):
    book = _book(level)  # it has one mover up; 35 more above it: a branch lists 30 of the 36
    book.customers += [_customer(f"C2{n:07d}", value_rank=2000 + n, migration="up", from_tier="lead",
                                 current_value_cny=Decimal(5000 - n)) for n in range(35)]
    path = tmp_path / "r.pdf"
    document.render(book, "en", path)
    text = "\n".join(_text(path))
    shown = sorted(set(re.findall(r"C2\d{7}", text)))
    assert len(shown) == listed
    assert shown == [f"C2{n:07d}" for n in range(listed)]  # the largest by value first
    assert (more in text) if more else ("more, in their RMs' reports" not in text)
