"""Every DAG imports, is named after its file, and has tags, an owner, retries and docs."""

import ast
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dag_bag(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    monkeypatch_module.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    monkeypatch_module.delenv("BANK_TASK_RETRIES", raising=False)
    from airflow.models.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_dags_import_without_errors(dag_bag):
    assert dag_bag.import_errors == {}, "\n".join(f"{k}: {v}" for k, v in dag_bag.import_errors.items())
    assert set(dag_bag.dags) == {p.stem for p in DAG_FILES}


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_dag_id_is_its_file_name_and_it_is_documented(dag_bag, dag_file):
    dag = dag_bag.dags.get(dag_file.stem)
    assert dag is not None, f"{dag_file.name} defines no DAG with dag_id '{dag_file.stem}'"
    assert dag.tags, f"{dag.dag_id} has no tags"
    assert dag.doc_md and len(dag.doc_md) > 80, f"{dag.dag_id} has no doc_md"
    assert dag.start_date.tzinfo is not None, f"{dag.dag_id}: start_date must be timezone-aware"
    assert dag.catchup is False
    for task in dag.tasks:
        assert task.owner not in (None, "", "airflow"), f"{dag.dag_id}.{task.task_id} has no owner"
        assert task.retries >= 1, f"{dag.dag_id}.{task.task_id} has no retries"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_dag_files_do_no_heavy_imports_at_module_level(dag_file):
    """Only Airflow and the light module of shared DAG constants at the top; the rest inside tasks."""
    allowed = {"__future__", "airflow.sdk", "warehouse.schedule"}
    tree = ast.parse(dag_file.read_text())
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            assert node.module in allowed, f"{dag_file.name} imports {node.module} at module level"
        elif isinstance(node, ast.Import):
            names = {alias.name for alias in node.names}
            assert names <= allowed, f"{dag_file.name} imports {names} at module level"


def test_assets_hand_off_from_extract_load_to_customer_value(dag_bag):
    load = dag_bag.dags["bank_extract_load"].get_task("load_deliveries")
    produced = {a.uri for a in load.outlets}
    consumer = dag_bag.dags["bank_customer_value"]
    assert "warehouse://raw/bank_deliveries" in produced
    assert "warehouse://raw/bank_deliveries" in str(consumer.timetable.asset_condition)


def test_assets_chain_the_nightly_run(dag_bag):
    """value marts -> segmentation; segments and churn risk -> reports; every DAG of the run is listed."""
    from warehouse.schedule import CHURN_RISK, CUSTOMER_SEGMENTS, CUSTOMER_VALUE_MARTS, PIPELINE_DAGS

    def produced(dag_id):
        return {a.uri for t in dag_bag.dags[dag_id].tasks for a in t.outlets}

    assert set(PIPELINE_DAGS) | {"bank_data_tests"} == set(dag_bag.dags)
    assert {CUSTOMER_VALUE_MARTS.uri, CHURN_RISK.uri} <= produced("bank_customer_value")
    assert CUSTOMER_SEGMENTS.uri in produced("bank_customer_segments")
    assert CUSTOMER_VALUE_MARTS.uri in str(dag_bag.dags["bank_customer_segments"].timetable.asset_condition)
    waits_on = str(dag_bag.dags["bank_rm_reports"].timetable.asset_condition)
    assert CUSTOMER_SEGMENTS.uri in waits_on and CHURN_RISK.uri in waits_on
