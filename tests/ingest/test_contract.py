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


SOURCES = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging" / "bank" / "_bank__sources.yml"


def test_dbt_sources_are_the_contract():
    assert SOURCES.read_text() == contract.render_dbt_sources(), (
        "dbt_project/models/staging/bank/_bank__sources.yml is out of date: run `.venv/bin/python -m "
        "ingestion.contract --dbt-sources > dbt_project/models/staging/bank/_bank__sources.yml`")


def test_every_closed_code_list_is_an_accepted_values_test_in_dbt():
    import yaml

    tables = {t["name"]: t for t in yaml.safe_load(SOURCES.read_text())["sources"][0]["tables"]}
    for source in contract.SOURCE_FILES:
        columns = {c["name"]: c for c in tables[source.name]["columns"]}
        assert list(columns) == list(source.column_names)
        for column in source.columns:
            tests = columns[column.name].get("data_tests", [])
            if column.allowed:
                assert tests == [{"accepted_values": {"arguments": {"values": list(column.allowed)}}}], column.name
            else:
                assert tests == [], column.name
