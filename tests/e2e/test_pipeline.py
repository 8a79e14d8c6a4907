"""The whole pipeline on a tiny bank, through Airflow, against a real Postgres."""

import hashlib
import json
import math
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from ingestion import contract
from tests.conftest import dbt_target_path
from warehouse import airflow_local

pytestmark = pytest.mark.e2e
LOGICAL_DATE = "2026-08-31"


@pytest.fixture(scope="module")
def pipeline(tiny_bank, tmp_path_factory):
    """Run every DAG once on a fresh database; yield (settings, airflow env)."""
    from warehouse.cli import scratch_database
    from warehouse.settings import Settings

    with scratch_database("bank_e2e") as url:
        root = tmp_path_factory.mktemp("e2e")
        env = airflow_local.airflow_env(root / "airflow", extra={
            "WAREHOUSE_URL": url, "BANK_LANDING_DIR": str(tiny_bank), "BANK_REPORTS_DIR": str(root / "reports"),
            # the reports in batches of books (a big bank's way; the other e2e tests map one task per book)
            "BANK_TASK_RETRIES": "0", "BANK_REPORT_TASKS_MAX": "2"})
        settings = Settings.from_env(env)
        airflow_local.migrate(env)
        airflow_local.run_pipeline(LOGICAL_DATE, env)
        yield settings, env


@pytest.fixture
def db(pipeline, postgres_server_url):
    """The pipeline's database as its administrator (a superuser with the embedded warehouse), who
    may take any BI login's role to see what it sees."""
    import psycopg2

    from tests.conftest import _with_database

    connection = psycopg2.connect(_with_database(postgres_server_url, pipeline[0].warehouse_url.rsplit("/", 1)[1]))
    connection.autocommit = True  # hold no locks that would block dbt's rebuild of the marts
    yield connection.cursor()
    connection.close()


def test_every_source_line_is_in_raw_or_quarantine(pipeline, tiny_bank, db):
    db.execute("select business_date::text, file_name, rows_read, rows_loaded, rows_quarantined from audit.file_loads")
    loads = {(d, f): (read, loaded, quarantined) for d, f, read, loaded, quarantined in db.fetchall()}
    folders = sorted(tiny_bank.iterdir())
    assert len(loads) == len(folders) * len(contract.SOURCE_FILES)
    for folder in folders:
        for source in contract.SOURCE_FILES:
            lines_in = len((folder / source.file_name).read_bytes().splitlines()) - 1
            read, loaded, quarantined = loads[(folder.name, source.file_name)]
            assert lines_in == read == loaded + quarantined, (folder.name, source.file_name)


def test_facts_reconcile_to_the_control_totals_to_the_cent(db):
    db.execute("""
        select c.business_date, c.amount_total, f.total
        from audit.control_totals c
        left join (select business_date, sum(balance_cny) total from marts.fct_deposit_balances_daily group by 1) f
          on f.business_date = c.business_date
        where c.file_name = 'deposit_balances.csv' and c.amount_total is distinct from f.total""")
    assert db.fetchall() == []
    db.execute("""
        select c.business_date from audit.control_totals c
        left join (select business_date, count(*) n, sum(amount_cny) total from marts.fct_transactions group by 1) f
          on f.business_date = c.business_date
        where c.file_name = 'transactions.csv' and (c.row_count <> coalesce(f.n, 0)
              or coalesce(c.amount_total, 0) <> coalesce(f.total, 0))""")
    assert db.fetchall() == []
    # the kept reconciliation: a row for each fact's file on each date of the control files, all agreeing,
    # and the reports' cover counts them per month
    db.execute("""select count(*), count(*) filter (where r.is_reconciled) from audit.control_totals c
                  left join marts.delivery_reconciliation_daily r using (business_date, file_name)
                  where c.file_name in ('deposit_balances.csv', 'loan_balances.csv', 'transactions.csv',
                                        'service_interactions.csv')""")
    files, reconciled = db.fetchone()
    assert files == reconciled > 0
    db.execute("select count(*) from marts.delivery_reconciliation_daily")
    assert db.fetchone()[0] == files
    db.execute("""select b.control_file_days, b.is_reconciled_to_control, (
                      select count(*) from marts.delivery_reconciliation_daily r
                      where date_trunc('month', r.business_date) = b.month_start_date)
                  from marts.rm_report_books b where portfolio_level = 'bank'""")
    for shown, all_agree, counted in db.fetchall():
        assert shown == counted > 0 and all_agree


def test_the_league_tables_at_risk_value_saved_and_lost_recomputed_from_the_retention_mart(db):
    # of last month's at-risk customers: saved if still a customer and no longer at risk, lost if closed
    db.execute("""
        with last as (select customer_id, value_at_risk_cny from marts.customer_retention_monthly
                      where month_start_date = '2026-07-01' and is_at_risk),
             this as (select r.customer_id, r.is_at_risk, v.is_closed_in_month, v.home_sub_branch_id
                      from marts.customer_retention_monthly r join marts.customer_value_monthly v
                        using (customer_id, month_start_date)
                      where month_start_date = '2026-08-01')
        select b.branch_id,
               coalesce(sum(last.value_at_risk_cny) filter (
                   where not this.is_closed_in_month and not this.is_at_risk), 0),
               coalesce(sum(last.value_at_risk_cny) filter (where this.is_closed_in_month), 0)
        from last join this using (customer_id) join marts.dim_branch b on b.sub_branch_id = this.home_sub_branch_id
        group by 1""")
    expected = {branch: (saved, lost) for branch, saved, lost in db.fetchall()}
    db.execute("""select portfolio_id, at_risk_value_saved_cny, at_risk_value_lost_cny from marts.rm_report_books
                  where month_start_date = '2026-08-01' and portfolio_level = 'branch'
                      and portfolio_id <> 'unassigned'""")
    shown = {branch: (saved, lost) for branch, saved, lost in db.fetchall()}
    assert {b: v for b, v in shown.items() if v != (0, 0)} == {b: v for b, v in expected.items() if v != (0, 0)}
    assert any(saved > 0 for saved, _ in shown.values())


def test_value_mart_has_one_row_per_customer_month_and_the_pyramid_tiers(db):
    db.execute("select month_start_date::text, count(*), count(distinct customer_id) from marts.customer_value_monthly "
               "group by 1 order by 1")
    months = db.fetchall()
    assert [m[0] for m in months] == ["2026-07-01", "2026-08-01"]
    for month, rows, customers in months:
        assert rows == customers
        db.execute("select value_tier, count(*) from marts.customer_value_monthly where month_start_date = %s "
                   "and current_value_cny > 0 group by 1", (month,))
        tiers = dict(db.fetchall())
        db.execute("select count(*) filter (where current_value_cny > 0) from marts.customer_value_monthly "
                   "where month_start_date = %s", (month,))
        positive = db.fetchone()[0]
        # the cut points are shares of all the month's customers; a value <= 0 is lead whatever they say
        assert tiers.get("platinum", 0) == min(math.ceil(rows * 0.01), positive)
        assert tiers.get("platinum", 0) + tiers.get("gold", 0) == min(math.ceil(rows * 0.20), positive)
        assert tiers.get("platinum", 0) + tiers.get("gold", 0) + tiers.get("iron", 0) == \
            min(math.ceil(rows * 0.50), positive)
        db.execute("select count(*) from marts.customer_value_monthly where month_start_date = %s "
                   "and current_value_cny <= 0 and value_tier <> 'lead'", (month,))
        assert db.fetchone()[0] == 0, f"{month}: a customer who destroys value is above lead"
    db.execute("""select count(*) from marts.customer_value_monthly a join marts.customer_value_monthly b
                    on a.month_start_date = b.month_start_date and a.value_rank < b.value_rank
                  where a.current_value_cny < b.current_value_cny""")
    assert db.fetchone()[0] == 0, "a lower-ranked customer is worth more"


def test_every_complete_month_is_segmented_once_and_joined_in(db):
    db.execute("select month_start_date::text, run_id, customers, library_versions->>'scikit-learn' "
               "from ml.segmentation_runs order by 1")
    runs = db.fetchall()
    assert [month for month, *_ in runs] == ["2026-07-01", "2026-08-01"] and all(v for *_, v in runs)
    db.execute("""select month_start_date::text, run_id, count(*) from marts.customer_segments_monthly
                  group by 1, 2 order by 1""")
    assert db.fetchall() == [(month, run_id, customers) for month, run_id, customers, _ in runs]
    db.execute("""select count(*) from marts.customer_segments_monthly s join marts.customer_value_monthly v
                    using (customer_id, month_start_date) where v.is_closed_in_month""")
    assert db.fetchone()[0] == 0, "a customer closed in the month is segmented"
    db.execute("select count(*), min(segmentation_run_id), max(segmentation_run_id) from marts.customer_segments")
    assert db.fetchone() == (runs[-1][2], runs[-1][1], runs[-1][1])
    # the migrations account for every customer segmented in July or August
    db.execute("""select sum(customers) filter (where movement <> 'joined'), sum(customers) filter (where movement
                  <> 'left') from marts.segment_migrations_monthly where month_start_date = '2026-08-01'""")
    assert db.fetchone() == (runs[0][2], runs[1][2])
    db.execute("""select count(*) from marts.customer_retention_monthly r
                  left join marts.customer_segments_monthly s using (customer_id, month_start_date)
                  where r.is_segment_outlier <> coalesce(s.is_outlier, false)
                     or (r.churn_risk_reason_codes like '%unusual_for_segment%') <> r.is_segment_outlier""")
    assert db.fetchone()[0] == 0, "the outlier flag does not reach the churn reasons"


def test_a_churn_model_per_month_end_scores_every_live_customer(db):
    db.execute("select month_start_date::text, model_kind, training_months, activity_model is not null "
               "from ml.churn_models order by 1")
    models = db.fetchall()
    # July has no labelled month before it: the prior; August learns from July (outcome: August's closures)
    assert [(m, kind, months) for m, kind, months, _ in models][0] == ("2026-07-01", "prior", [])
    assert [m for m, *_ in models] == ["2026-07-01", "2026-08-01"] and models[1][2] in ([], ["2026-07"])
    assert all(has_activity_model for *_, has_activity_model in models)
    db.execute("""select count(*), count(*) filter (where v.is_closed_in_month = (r.churn_risk_score is null)),
                         count(*) filter (where r.churn_risk_score between 0 and 1 or r.churn_risk_score is null),
                         count(*) filter (where (r.churn_risk_reason_codes = '') = (r.churn_risk_reasons is null)),
                         (select count(*) from marts.customer_value_monthly)
                  from marts.customer_retention_monthly r
                  join marts.customer_value_monthly v using (customer_id, month_start_date)""")
    rows, scored_iff_live, in_range, reasons_in_words, value_rows = db.fetchone()
    assert rows == scored_iff_live == in_range == reasons_in_words == value_rows
    db.execute("select distinct lifecycle_stage from marts.customer_retention_monthly")
    assert {stage for (stage,) in db.fetchall()} <= {"prospect", "new", "growing", "mature", "declining", "dormant",
                                                      "churned"}
    db.execute("""select p.month_start_date, p.value_at_risk_cny, sum(r.value_at_risk_cny)
                  from marts.portfolio_monthly p join marts.customer_retention_monthly r using (month_start_date)
                  where p.portfolio_level = 'bank'
                  group by 1, 2 having p.value_at_risk_cny <> sum(r.value_at_risk_cny)""")
    assert db.fetchall() == []


def test_a_churn_run_reads_its_window_and_the_earlier_histories_folded_in_sql(db):
    """The churn stage reads the months it models whole and the months before them as one BG/NBD history
    per customer, folded by Postgres: the same features as a read of every month."""
    import pandas as pd

    from ml import retention

    connection = db.connection
    august = pd.Timestamp("2026-08-01")
    signals = retention.read_signals(connection)
    everything = retention._MonthCache.of(signals)
    months = retention.signal_months(connection)
    window = retention._MonthCache.read(connection, list(months.index), august, august)
    assert set(window.signals["month_start_date"]) == {august}
    july = signals[signals["month_start_date"] < august]
    folded = retention.read_histories_before(connection, august.date())
    assert len(folded) > 100
    pd.testing.assert_frame_equal(folded, retention.fold_histories(
        july.loc[july["transaction_days"] > 0, retention.HISTORY_COLUMNS]))
    pd.testing.assert_frame_equal(window.features(august), everything.features(august))
    assert window.activity_params(august) == everything.activity_params(august)
    assert months["is_complete_month"].to_dict() == retention.month_completeness(signals).to_dict()
    later = pd.Timestamp("2030-01-01")
    with pytest.raises(RuntimeError, match="has no month 2030-01: run the customer-value dbt build first"):
        retention._MonthCache.read(connection, list(months.index), later, later)


def test_the_model_quality_report_is_written_from_the_ground_truth(pipeline, tiny_bank, tmp_path):
    import subprocess
    import sys

    output = tmp_path / "model-quality.md"
    done = subprocess.run([sys.executable, "-m", "warehouse", "model-quality", "--ground-truth",
                           str(tiny_bank.parent / "ground_truth"), "--output", str(output)],
                          env={**pipeline[1], "WAREHOUSE_URL": pipeline[0].warehouse_url},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    churn, segments = output.read_text().split("## Segments")
    rows = [line for line in churn.splitlines() if line.startswith("| 2026-")]
    assert [row.split(" | ")[0] for row in rows] == ["| 2026-07", "| 2026-08"]
    assert [row.split(" | ")[1] for row in rows][0] == "prior"
    rows = [line.split(" | ") for line in segments.splitlines() if line.startswith("| 2026-")]
    assert [row[0] for row in rows] == ["| 2026-07", "| 2026-08", "| 2026-07 → 2026-08"]
    assert all(0 <= float(row[3]) <= 1 for row in rows[:2])  # the ARI of each month


def test_each_rm_pdf_lists_that_rms_customers_and_the_marts_figures(pipeline, db):
    settings = pipeline[0]
    month_dir = settings.reports_dir / "2026-08"
    # whom each RM's PDF must list, worked out from the mart: the call list, who moved up or down,
    # who left, the top 20 by value, and who has an open complaint
    db.execute("""select rm_id, customer_id from (
                      select *, row_number() over (partition by rm_id, is_in_book order by value_rank, customer_id)
                          as place
                      from marts.rm_report_customers where month_start_date = '2026-08-01') as c
                  where call_list_rank is not null or (is_in_book and migration in ('up', 'down'))
                      or not is_in_book or (is_in_book and place <= 20) or (is_in_book and open_complaints > 0)""")
    expected = {}
    for rm_id, customer_id in db.fetchall():
        expected.setdefault(rm_id, set()).add(customer_id)
    db.execute("""select portfolio_id, customers, assets_under_management_cny, loans_cny, current_value_cny,
                         potential_value_cny, value_at_risk_cny, customers_at_risk
                  from marts.rm_report_books where month_start_date = '2026-08-01' and portfolio_level = 'rm'
                      and portfolio_id <> 'unassigned'""")
    books = {row[0]: row[1:] for row in db.fetchall()}
    pdfs = sorted(month_dir.glob("RM*.en.pdf"))
    assert sorted(p.name.split(".")[0] for p in pdfs) == sorted(books)
    assert sorted(month_dir.glob("RM*.zh.pdf")) and len(list(month_dir.glob("RM*.zh.pdf"))) == len(pdfs)
    for pdf in pdfs:
        rm_id = pdf.name.split(".")[0]
        pages = [page.extract_text() for page in PdfReader(pdf).pages]
        text = "\n".join(pages)
        assert set(re.findall(r"C\d{8}", text)) == expected.get(rm_id, set()), pdf.name
        glance = pages[0].split("Call list")[0]
        for figure in books[rm_id]:
            assert f"{float(figure):,.0f}" in glance, (pdf.name, figure)
    manifest = json.loads((month_dir / "manifest.json").read_text())
    files = sorted(p.name for p in month_dir.glob("*.pdf"))
    assert sorted(e["file"] for e in manifest["reports"]) == files
    assert any(f.startswith("branch-") for f in files) and {"head-office.en.pdf", "head-office.zh.pdf"} <= set(files)
    for entry in manifest["reports"]:
        assert entry["pages"] == len(PdfReader(month_dir / entry["file"]).pages)
        assert entry["sha256"] == hashlib.sha256((month_dir / entry["file"]).read_bytes()).hexdigest()


def test_an_rm_asks_for_a_reprint_on_the_command_line(pipeline, tmp_path):
    import subprocess
    import sys

    settings, env = pipeline
    run_env = {**env, "BANK_REPORTS_DIR": str(tmp_path)}
    rm_id = sorted(p.name.split(".")[0] for p in (settings.reports_dir / "2026-08").glob("RM*.en.pdf"))[0]

    def reports(*args):
        return subprocess.run([sys.executable, "-m", "reports", *args], env=run_env, capture_output=True, text=True,
                              timeout=300)

    done = reports("--month", "2026-08", "--rm", rm_id, "--lang", "zh")
    assert done.returncode == 0, done.stderr[-2000:]
    assert [p.name for p in (tmp_path / "2026-08").glob("*.pdf")] == [f"{rm_id}.zh.pdf"]
    assert f"{rm_id}.zh.pdf" in done.stdout
    unknown = reports("--month", "2026-08", "--rm", "RM9999")
    assert unknown.returncode == 2 and "no rm book 'RM9999' in 2026-08" in unknown.stderr
    assert reports("--month", "August", "--all").returncode == 2


def test_running_again_changes_nothing(pipeline, db):
    settings, env = pipeline
    db.execute("select count(*), max(batch_id) from raw.deposit_balances")
    raw_before = db.fetchone()
    db.execute("select md5(string_agg(customer_id || month_start_date || value_tier || current_value_cny, ',' "
               "order by customer_id, month_start_date)) from marts.customer_value_monthly")
    marts_before = db.fetchone()
    db.execute("select md5(string_agg(customer_id || segment_name, ',' order by customer_id)) "
               "from marts.customer_segments")
    segments_before = db.fetchone()
    scores = ("select md5(string_agg(customer_id || month_start_date || churn_risk_score || next_best_action, ',' "
              "order by customer_id, month_start_date)) from marts.customer_retention_monthly")
    db.execute(scores)
    scores_before = db.fetchone()
    manifest = settings.reports_dir / "2026-08" / "manifest.json"
    reports_before = sorted(e["file"] for e in json.loads(manifest.read_text())["reports"])
    airflow_local.run_pipeline(LOGICAL_DATE, env)
    assert sorted(e["file"] for e in json.loads(manifest.read_text())["reports"]) == reports_before
    db.execute("select count(*), max(batch_id) from raw.deposit_balances")
    assert db.fetchone() == raw_before
    db.execute("select md5(string_agg(customer_id || month_start_date || value_tier || current_value_cny, ',' "
               "order by customer_id, month_start_date)) from marts.customer_value_monthly")
    assert db.fetchone() == marts_before
    db.execute("select md5(string_agg(customer_id || segment_name, ',' order by customer_id)) "
               "from marts.customer_segments")
    assert db.fetchone() == segments_before
    db.execute(scores)
    assert db.fetchone() == scores_before


def test_a_late_delivery_alerts_and_the_ones_that_arrived_still_load(pipeline, tiny_bank, database_url):
    import psycopg2

    # the pipeline's Airflow metadata (already migrated), another warehouse: a date after the last delivery
    env = {**pipeline[1], "WAREHOUSE_URL": database_url, "BANK_DELIVERY_WAIT_HOURS": str(3 / 3600)}
    with pytest.raises(RuntimeError) as failure:
        airflow_local.dags_test("bank_extract_load", "2026-09-15", env)  # the tiny bank ends on 2026-08-31
    log_text = (Path(env["AIRFLOW_HOME"]) / "runs" / "bank_extract_load_2026-09-15.log").read_text()
    assert "LATE DELIVERY" in log_text, str(failure.value)[-2000:]
    deprecated = [line for line in log_text.splitlines() if "deprecat" in line.lower()
                  and re.search(r"filename=(?!\S*/\.venv/)\S*/(dags|warehouse|ingestion|ml|reports)/", line)]
    assert not deprecated, f"the project's own code uses what Airflow deprecates: {deprecated}"
    runs = airflow_local._airflow(["dags", "list-runs", "bank_extract_load", "-o", "json"], env)
    listed = next(line for line in runs.stdout.splitlines() if line.startswith("["))  # (warnings come first)
    states = {r["logical_date"][:10]: r["state"] for r in json.loads(listed)}
    assert states["2026-09-15"] == "failed", runs.stdout[-2000:]
    with psycopg2.connect(database_url) as connection, connection.cursor() as cur:
        cur.execute("select count(*) from audit.deliveries")
        assert cur.fetchone()[0] == len(list(tiny_bank.iterdir()))


def test_dbt_docs_generate_documents_every_mart(pipeline):
    import json

    from warehouse.transform import run_dbt

    settings = pipeline[0]
    run_dbt(["docs", "generate"], settings)
    catalog = json.loads((dbt_target_path() / "catalog.json").read_text())
    manifest = json.loads((dbt_target_path() / "manifest.json").read_text())
    documented = {n["metadata"]["name"] for n in catalog["nodes"].values() if n["metadata"]["schema"] == "marts"}
    assert {"customer_value_monthly", "customer_360", "dim_customer", "fct_transactions"} <= documented
    assert {e["name"] for e in manifest["exposures"].values()} == {"rm_monthly_reports", "bi_customer_value_marts"}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model":
            assert "one row per" in node["description"].lower(), f"{node['name']} does not state its grain"
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    undocumented = [f"{entry['metadata']['name']}.{column}" for entry in catalog["nodes"].values()
                    if entry["metadata"]["schema"] == "marts"
                    for column in entry["columns"]
                    if not models[entry["metadata"]["name"]]["columns"].get(column, {}).get("description")]
    assert undocumented == [], f"mart columns without a description: {undocumented}"


def test_the_segmentation_notebook_runs_on_the_test_bank(pipeline, monkeypatch):
    """notebooks/segmentation.ipynb executes top to bottom against this warehouse (outputs are not kept)."""
    import nbformat
    from nbclient import NotebookClient

    from warehouse.settings import PROJECT_DIR

    monkeypatch.setenv("WAREHOUSE_URL", pipeline[0].warehouse_url)
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_DIR))
    notebook = nbformat.read(PROJECT_DIR / "notebooks" / "segmentation.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "notebooks/segmentation.ipynb was committed with outputs: clear them"
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(PROJECT_DIR)}}
                   ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3, "the plots were not drawn"


# Every relation of bi and whose rows each one holds: the SQL of the row's RM and of its branch (none:
# head office's alone). A relation added to bi without an entry here fails the test below.
BI_SCOPES = {
    "customer_monthly": ("rm_id", "branch_id"),
    "customer_360": ("rm_id", "branch_id"),
    "tier_migrations_monthly": ("rm_id", "branch_id"),
    "portfolio_monthly": ("case when portfolio_level = 'rm' then portfolio_id end",
                          "case when portfolio_level in ('rm', 'branch') then branch_id end"),
    "product_profitability_monthly": (None, "branch_id"),
    "channel_profitability_monthly": (None, "branch_id"),
    "segments_vs_tiers_monthly": (None, None),
    "delivery_reconciliation_daily": (None, None),
}


def _as_role(db, role, query, params=()):
    from psycopg2 import sql

    db.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
    try:
        db.execute(query, params)
        return db.fetchall()
    finally:
        db.execute("reset role")


def _bi_logins(db):
    """An RM's login, a branch manager's, head office's (bi_reader) and a BI login the map does not know."""
    db.execute("""select login, allowed_rm_id, allowed_branch_id from security.bi_logins l
                  where allowed_rm_id = (select rm_id from marts.rm_report_customers where rm_id <> 'unassigned'
                                         group by 1 order by count(*) desc, 1 limit 1)
                     or (allowed_rm_id is null and allowed_branch_id = (
                         select branch_id from marts.dim_branch order by 1 limit 1))""")
    logins = {("rm" if rm else "branch"): (login, rm, branch) for login, rm, branch in db.fetchall()}
    db.execute("do $$ begin create role bi_test_unmapped login; exception when duplicate_object then null; end $$")
    db.execute("grant bi_rms to bi_test_unmapped")
    return {**logins, "head_office": ("bi_reader", None, None), "unmapped": ("bi_test_unmapped", None, None)}


def test_every_bi_relation_shows_each_role_exactly_its_rows(db):
    db.execute("select table_name from information_schema.tables where table_schema = 'bi'")
    assert {name for (name,) in db.fetchall()} == set(BI_SCOPES), "every bi relation must say whose rows it holds"
    logins = _bi_logins(db)
    assert set(logins) == {"rm", "branch", "head_office", "unmapped"}, logins
    for relation, (rm_sql, branch_sql) in BI_SCOPES.items():
        db.execute(f"select count(*) from bi.{relation}")
        total = db.fetchone()[0]
        assert total > 0, relation
        for kind, (login, rm_id, branch_id) in logins.items():
            if kind == "head_office":
                expected = total
            elif kind == "rm" and rm_sql:
                db.execute(f"select count(*) from bi.{relation} where {rm_sql} = %s", (rm_id,))
                expected = db.fetchone()[0]
            elif kind == "branch" and branch_sql:
                db.execute(f"select count(*) from bi.{relation} where {branch_sql} = %s", (branch_id,))
                expected = db.fetchone()[0]
            else:
                expected = 0
            if kind in ("rm", "branch") and relation.startswith("customer_"):
                assert expected > 0, (relation, kind)  # the book must be there, or the test proves nothing
            [(seen,)] = _as_role(db, login, f"select count(*) from bi.{relation}")
            assert seen == expected, f"{login} sees {seen} rows of bi.{relation}, should see {expected}"
            if expected and kind in ("rm", "branch"):
                own = rm_sql if kind == "rm" else branch_sql
                [(others,)] = _as_role(db, login, f"select count(*) from bi.{relation} "
                                                  f"where ({own}) is distinct from %s", (rm_id or branch_id,))
                assert others == 0, f"{login} sees {others} rows of bi.{relation} that are not theirs"


def test_postgres_row_security_filters_every_mart_a_bi_relation_reads(db):
    """The rows are Postgres's to filter, whichever tool connects: each bi view belongs to bi_view_owner,
    and every table it reads holds row security with the policy bi_row_scope for that owner (only the
    login map, which the policies themselves read, is not filtered). The same check guards each night:
    sync_bi_logins refuses to go on."""
    from warehouse.access import row_security_problems

    db.execute("""select count(distinct policy.polrelid) from pg_policy as policy
                  where policy.polname = 'bi_row_scope' and 'bi_view_owner'::regrole = any(policy.polroles)""")
    assert db.fetchone()[0] == len(BI_SCOPES), "one mart under row security for each bi relation"
    assert row_security_problems(db) == []
    db.execute("begin")
    try:  # a view given away, a mart without its row security, a view of a table nobody filters
        db.execute("alter view bi.customer_monthly owner to bank_transformer")
        db.execute("alter table marts.customer_360 disable row level security")
        db.execute("create view bi.unfiltered as select customer_id from marts.dim_customer")
        db.execute("alter view bi.unfiltered owner to bi_view_owner")
        assert row_security_problems(db) == [
            "bi.customer_360 reads marts.customer_360, which has no row security with bi_row_scope",
            "bi.customer_monthly belongs to bank_transformer, not bi_view_owner",
            "bi.unfiltered reads marts.dim_customer, which has no row security with bi_row_scope"]
    finally:
        db.execute("rollback")


def test_bi_logins_read_bi_alone_and_run_no_program(db):
    for login, _, _ in _bi_logins(db).values():
        for relation in ("marts.dim_customer", "marts.rm_report_customers", "raw.customers", "audit.deliveries",
                         "security.bi_logins", "ml.churn_scores"):
            with pytest.raises(Exception, match="permission denied"):
                _as_role(db, login, f"select 1 from {relation} limit 1")
        with pytest.raises(Exception, match="permission denied"):
            _as_role(db, login, "copy (select 1) to program 'id'")


# What each component's login may do in the pipeline's database, and some of what it may not
# (warehouse/access.py): (allowed, refused)
COMPONENT_RIGHTS = {
    "bank_loader": (
        ["create table raw.rights_check (a int)", "delete from audit.deliveries where false",
         "select nextval('audit.batch_id_seq')"],
        ["create table marts.rights_check (a int)", "select 1 from marts.dim_customer",
         "delete from ml.churn_scores where false", "select 1 from security.bi_logins",
         "select 1 from bi.customer_360"]),
    "bank_transformer": (
        ["select 1 from raw.customers limit 1", "select 1 from audit.deliveries", "select 1 from ml.churn_scores",
         "create table marts.rights_check (a int)", "delete from audit.snapshot_replays where false"],
        ["delete from raw.customers where false", "delete from audit.deliveries where false",
         "delete from ml.churn_scores where false", "delete from security.bi_logins where false",
         "create table raw.rights_check (a int)"]),
    "bank_ml": (
        ["select 1 from marts.customer_value_monthly limit 1", "delete from ml.churn_scores where false",
         "delete from ml.customer_segments where false"],
        ["select 1 from raw.customers limit 1", "delete from marts.dim_customer where false",
         "create table marts.rights_check (a int)", "delete from audit.deliveries where false"]),
    "bank_reports": (
        ["select 1 from marts.rm_report_customers limit 1", "select 1 from ml.segment_profiles limit 1"],
        ["delete from marts.rm_report_customers where false", "create table marts.rights_check (a int)",
         "delete from ml.segment_profiles where false", "select 1 from raw.customers limit 1",
         "select 1 from audit.deliveries"]),
}


def test_each_component_connects_as_its_own_login_with_the_rights_its_job_needs(db):
    from psycopg2 import sql

    db.execute("""select rolname, rolsuper or rolcreaterole or rolcreatedb or rolbypassrls or rolreplication
                  from pg_roles where rolname = any(%s)""", (list(COMPONENT_RIGHTS),))
    assert dict(db.fetchall()) == dict.fromkeys(COMPONENT_RIGHTS, False), "a component login with too much power"
    for login, (allowed, refused) in COMPONENT_RIGHTS.items():
        for statement in [*allowed, *refused, "copy (select 1) to program 'id'"]:
            db.execute("begin")
            db.execute(sql.SQL("set local role {}").format(sql.Identifier(login)))
            try:
                if statement in allowed:
                    db.execute(statement)
                else:
                    with pytest.raises(Exception, match="permission denied"):
                        db.execute(statement)
            finally:
                db.execute("rollback")
    # the DAGs ran as the components: the loader made every raw partition, dbt every mart
    db.execute("""select distinct c.relowner::regrole::text from pg_class as c
                  join pg_namespace as n on n.oid = c.relnamespace where n.nspname = 'raw' and c.relispartition""")
    assert [owner for (owner,) in db.fetchall()] == ["bank_loader"]
    db.execute("""select distinct c.relowner::regrole::text from pg_class as c
                  join pg_namespace as n on n.oid = c.relnamespace
                  where n.nspname in ('staging', 'intermediate', 'marts', 'snapshots')
                      and c.relkind in ('r', 'v', 'p')""")
    assert [owner for (owner,) in db.fetchall()] == ["bank_transformer"]


def test_no_bi_role_reads_a_personal_identifier_it_does_not_need(db):
    db.execute("select national_id, phone, full_name from marts.dim_customer")
    customers = db.fetchall()
    identifiers = {value for nid, phone, _ in customers for value in (nid, phone) if value}
    names = {name for _, _, name in customers if name}
    db.execute("""select table_name, column_name from information_schema.columns
                  where table_schema = 'bi' and data_type in ('text', 'character varying')""")
    text_columns = db.fetchall()
    assert len(text_columns) > 20
    for kind, (login, rm_id, _) in _bi_logins(db).items():
        seen = set()
        for relation, column in text_columns:
            seen |= {value for (value,) in _as_role(db, login, f'select distinct "{column}" from bi.{relation}')}
        assert not seen & identifiers, f"{login} reads national ids or phone numbers whole"
        if kind == "rm":  # an RM reads their own customers' names, and nobody else's
            db.execute("""select customer_name from marts.rm_report_customers where rm_id = %s
                          union select full_name from marts.customer_360 where rm_id = %s""", (rm_id, rm_id))
            own = {name for (name,) in db.fetchall()}
            assert seen & names and seen & names <= own, login
        else:
            assert not seen & names, f"{login} reads customers' names whole: {sorted(seen & names)[:3]}"


def test_the_information_query_finds_only_what_the_login_may_see_and_takes_no_sql_from_its_input(pipeline, db):
    import psycopg2

    from warehouse.access import login_name
    from warehouse.lookup import NotFound, format_customer, lookup

    logins = _bi_logins(db)
    rm_login, rm_id, _ = logins["rm"]
    db.execute("select customer_id, full_name from marts.customer_360 where rm_id = %s order by 1 limit 1", (rm_id,))
    own, own_name = db.fetchone()
    db.execute("select customer_id from marts.customer_360 where rm_id <> %s order by 1 limit 1", (rm_id,))
    [(other,)] = db.fetchall()
    conn = psycopg2.connect(pipeline[0].warehouse_url)
    try:
        [found] = lookup(conn, customer_id=own, as_login=rm_login)
        assert found["customer"]["full_name"] == own_name and found["month"]["customer_id"] == own
        assert own_name in format_customer(found) and "**" in format_customer(found)  # ids masked, name whole
        with pytest.raises(NotFound):
            lookup(conn, customer_id=other, as_login=rm_login)  # another RM's customer: nothing
        [seen_by_head_office] = lookup(conn, customer_id=own, as_login="bi_reader")
        assert seen_by_head_office["customer"]["full_name"] != own_name  # masked for head office
        for hostile in ("' or '1'='1", f"{other}' or rm_id <> '{rm_id}", "x'; drop table marts.dim_customer; --"):
            with pytest.raises(NotFound):
                lookup(conn, customer_id=hostile, as_login=rm_login)
        for pattern in ("%", "_", "\\"):  # a name's wildcards are the characters themselves
            with pytest.raises(NotFound):
                lookup(conn, name=pattern, as_login=rm_login)
        with pytest.raises(psycopg2.Error, match="does not exist"):
            lookup(conn, customer_id=own, as_login='bi_reader"; drop table marts.dim_customer; --')
        conn.rollback()
    finally:
        conn.close()
    db.execute("select count(*) from marts.dim_customer")
    assert db.fetchone()[0] > 0
    for hostile in ("RM1'; drop role bi_reader; --", "RM 1", "", "RM1\"x"):
        with pytest.raises(ValueError, match="cannot name a login"):
            login_name("rm", hostile)


def test_superset_shows_the_dashboard_with_the_warehouses_figures(pipeline, db, tmp_path):
    import re
    import secrets

    import requests
    from psycopg2 import sql

    from tests.e2e.browser import render
    from warehouse import bi_tool
    from warehouse.access import HEAD_OFFICE
    from warehouse.airflow_local import free_port

    settings, _ = pipeline
    # a head-office login of the test's own, so that bi_reader's password is left as it is
    login = "bi_test_superset"
    password = secrets.token_urlsafe(16)
    db.execute("do $$ begin create role bi_test_superset login; exception when duplicate_object then null; end $$")
    db.execute(sql.SQL("alter role bi_test_superset password {}").format(sql.Literal(password)))
    db.execute(sql.SQL("grant {} to bi_test_superset").format(sql.Identifier(HEAD_OFFICE)))
    home = tmp_path / "superset"
    env = bi_tool.superset_env(settings, home, login=(login, password))
    bi_tool.prepare(env)
    bi_tool.import_assets(env)  # what a second start imports again: nothing doubles

    # what the charts must show, from the marts: the RM with the highest value, the branches' tier counts
    db.execute("""select portfolio_id from marts.rm_report_books where portfolio_level = 'rm'
                  and month_start_date = (select max(month_start_date) from marts.rm_report_books)
                  order by current_value_cny desc limit 1""")
    [(top_rm,)] = db.fetchall()
    db.execute("""select branch_id, count(*) from marts.rm_report_customers where is_in_book and value_tier = 'lead'
                  and month_start_date = (select max(month_start_date) from marts.rm_report_customers)
                  group by 1 order by 1""")
    lead_by_branch = db.fetchall()
    with bi_tool.serving(env, free_port()) as url:
        session = requests.Session()
        form = session.get(f"{url}/login/", timeout=30).text
        token = re.search(r'id="csrf_token"\s*value="([^"]+)"', form).group(1)
        admin = bi_tool.credentials(home)["admin_password"]
        session.post(f"{url}/login/", data={"username": "admin", "password": admin, "csrf_token": token}, timeout=30)
        dashboards = session.get(f"{url}/api/v1/dashboard/", timeout=30).json()["result"]
        assert [d["dashboard_title"] for d in dashboards] == ["Customer value"]
        charts = session.get(f"{url}/api/v1/chart/", timeout=30).json()["count"]
        assert charts == 6
        shot = tmp_path / "dashboard.png"
        titles = ("Tier mix by branch", "Value and value at risk per RM", "Segment profiles",
                  "Tier migrations since last month", "Profitability by product", "Profitability by channel")

        def ready(t: str) -> bool:  # every chart drawn, and the tier mix with a row for every branch
            if not all(word in t for word in titles + (top_rm, "mobile", "platinum")) or "Loading" in t:
                return False
            mix = t.split("Tier mix by branch")[1].split("Value and value at risk per RM")[0].split()
            return all(branch in mix for branch, _ in lead_by_branch)

        text = render(f"{url}/superset/dashboard/customer-value/", dict(session.cookies), screenshot=shot,
                      ready=ready)
    assert all(title in text for title in titles), f"the dashboard did not render; screenshot {shot}"
    assert "Data error" not in text and "error" not in text.lower(), text[:2000]
    assert top_rm in text and "mobile" in text and "platinum" in text, f"screenshot {shot}"
    tier_mix = text.split("Tier mix by branch")[1].split("Value and value at risk per RM")[0].split()
    for branch, lead in lead_by_branch:  # each branch's row holds its count of lead customers
        row = tier_mix[tier_mix.index(branch) + 1:][:4]
        assert str(lead) in row, (branch, lead, row, f"screenshot {shot}")


def test_a_nights_data_tests_read_the_rows_it_wrote_and_every_row_on_request(pipeline, db):
    """The macro postgres__get_where_subquery: a duplicate among the rows the last build wrote fails the
    night's test; one among older rows is left to the every-row run (var test_every_row), which finds it."""
    from warehouse.transform import DbtError, run_dbt

    settings, _ = pipeline
    test = ["test", "--select", "fct_deposit_balances_daily,test_name:unique_combination"]
    copy = """insert into marts.fct_deposit_balances_daily select * from marts.fct_deposit_balances_daily
              where built_from_batch_id = (select max(built_from_batch_id) from marts.fct_deposit_balances_daily)
              order by business_date, account_id limit 1 returning ctid"""
    db.execute(copy)
    [(duplicate,)] = db.fetchall()
    # a duplicate as an earlier night would have written it
    db.execute("update marts.fct_deposit_balances_daily set built_from_batch_id = built_from_batch_id - 1 "
               "where ctid = %s", (duplicate,))
    try:
        run_dbt(test, settings)  # the night's test reads the rows the last build wrote: passes
        with pytest.raises(DbtError, match="unique_combination"):
            run_dbt([*test, "--vars", '{"test_every_row": true}'], settings)
        db.execute(copy)  # a duplicate among the rows the last build wrote
        with pytest.raises(DbtError, match="unique_combination"):
            run_dbt(test, settings)
    finally:  # the duplicates go again (ctid tells copies apart)
        db.execute("""delete from marts.fct_deposit_balances_daily as f using (
                          select ctid, row_number() over (partition by account_id, business_date order by ctid) as n
                          from marts.fct_deposit_balances_daily) as d
                      where f.ctid = d.ctid and d.n > 1""")


def test_a_nights_reconciliation_compares_the_dates_it_wrote_and_every_date_on_request(pipeline, db):
    """The test reconciles_to_control on a night: a date whose fact no longer sums to its control total
    fails it when the last build wrote that date; a date an earlier night wrote is left to the weekly
    DAG bank_data_tests (every test on every row), which finds it."""
    from warehouse.transform import DbtError, run_dbt

    settings, env = pipeline
    test = ["test", "--select", "fct_transactions,test_name:reconciles_to_control"]
    db.execute("select min(business_date), max(business_date) from marts.fct_transactions")
    first, last = db.fetchone()
    assert first < last
    pick = "select min(transaction_id) from marts.fct_transactions where business_date = %s"
    move = "update marts.fct_transactions set amount_cny = amount_cny + %s where transaction_id = %s"
    db.execute(pick, (first,))
    [(old,)] = db.fetchall()
    db.execute(pick, (last,))
    [(new,)] = db.fetchall()
    # the first date as an earlier night would have written it, and a cent off on it
    db.execute("update marts.fct_transactions set built_from_batch_id = built_from_batch_id - 1 "
               "where business_date = %s", (first,))
    moved = [old]
    db.execute(move, (0.01, old))
    try:
        run_dbt(test, settings)  # the night reconciles the dates its last build wrote: passes
        with pytest.raises(RuntimeError, match="reconciles_to_control_fct_transactions"):
            airflow_local.dags_test("bank_data_tests", LOGICAL_DATE, env)
        moved.append(new)
        db.execute(move, (0.01, new))  # a cent off on a date the last build wrote
        with pytest.raises(DbtError, match="reconciles_to_control"):
            run_dbt(test, settings)
    finally:
        for transaction_id in moved:
            db.execute(move, (-0.01, transaction_id))
        db.execute("update marts.fct_transactions set built_from_batch_id = built_from_batch_id + 1 "
                   "where business_date = %s", (first,))
    run_dbt([*test, "--vars", '{"test_every_row": true}'], settings)
