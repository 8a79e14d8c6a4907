from pathlib import Path

from ingestion import contract

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-contract.md"


def test_the_documented_contract_is_the_one_the_code_enforces():
    assert DOC.read_text() == contract.render_markdown(), (
        "docs/data-contract.md is out of date: run `.venv/bin/python -m ingestion.contract > docs/data-contract.md`")


def test_references_point_at_earlier_files_and_keys_are_columns():
    order = [f.name for f in contract.SOURCE_FILES]
    for source in contract.SOURCE_FILES:
        assert set(source.key) <= set(source.column_names), source.name
        for column, target in source.references.items():
            assert column in source.column_names
            assert order.index(target) < order.index(source.name), f"{source.name} loads before {target}"
        if source.amount_column:
            assert source.column(source.amount_column).kind == "money"
