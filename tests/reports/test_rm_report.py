import datetime as dt
from decimal import Decimal

from pypdf import PdfReader

from reports.rm_report import Book, render_book


def _book():
    customers = [
        ("C00000001", "王伟", "individual", "platinum", "partnership", "wealth investors", False, 1,
         Decimal("2500000"), Decimal("300000"), Decimal("0"), 4, Decimal("4200.50")),
        ("C00000002", "李娜", "individual", "lead", "reactive", "busy transactors", True, 900,
         Decimal("3000"), Decimal("0"), Decimal("0"), 45, Decimal("-120.25")),
    ]
    segments = [("wealth investors", "理财客户", 1, "85 customers; median deposits 1,068,956, wealth 375,370"),
                ("busy transactors", "高频交易客户", 1, "181 customers; median deposits 255,738")]
    return Book("RM0007", "张强", "第1分行第1支行", "第1分行", dt.date(2026, 9, 1), "2026-09-abc", customers,
                segments)


def test_the_pdf_lists_the_rm_and_their_customers_with_embedded_chinese_font(tmp_path):
    path = render_book(_book(), tmp_path / "RM0007.pdf")
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "RM0007" in text and "September 2026" in text
    assert "C00000001" in text and "C00000002" in text
    assert "王伟" in text and "张强" in text
    assert "4,080" in text  # the month's total value, 4200.50 - 120.25
    assert "理财客户" in text and "median deposits 1,068,956" in text  # the segments, named and profiled
    fonts = {str(f) for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert fonts, "no font in the PDF"
    font = reader.pages[0]["/Resources"]["/Font"]
    embedded = [font[k].get_object() for k in font]
    assert any("/DescendantFonts" in f or "/FontDescriptor" in f for f in embedded)
    images = [img for page in reader.pages for img in page.images]
    assert images, "the tier chart is missing"


def test_an_rm_id_cannot_write_a_report_outside_the_reports_folder(tmp_path):
    import dataclasses

    import pytest

    from reports.rm_report import report_path

    root = tmp_path / "reports"
    assert report_path(root, _book()) == (root / "2026-09" / "RM0007.pdf").resolve()
    for rm_id in ("../../../../tmp/x/RM0003", "../RM0003", "/etc/RM0003"):
        with pytest.raises(ValueError, match="outside"):
            report_path(root, dataclasses.replace(_book(), rm_id=rm_id))


def test_the_currency_label_is_configuration(tmp_path):
    text = "\n".join(page.extract_text() for page in PdfReader(render_book(_book(), tmp_path / "r.pdf", "HKD")).pages)
    assert "HKD" in text and "CNY" not in text
