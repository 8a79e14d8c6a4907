"""The warehouse's Superset dashboard as code: the database (as bi_reader), a dataset per `bi` view
the charts read, the charts and the dashboard, imported into Superset at every start (make bi).

Run with Superset's own Python (``.venv-superset/bin/python bi/superset_assets.py``), inside its
app, by warehouse/bi_tool.py, which passes everything in the environment: SUPERSET_ADMIN_PASSWORD
(the admin login, created when missing), BI_WAREHOUSE_URI (the warehouse for bi_reader, without
its password) and BI_READER_PASSWORD. The datasets' columns are read from the warehouse after the
import, so they follow the `bi` views (dbt_project/models/bi). Ids are fixed (uuid5 of the names):
importing again replaces the same objects, never duplicates them.
"""

from __future__ import annotations

import os
import uuid

import yaml

NAMESPACE = uuid.UUID("6f1d2b7e-3c55-4f0e-9a51-0c9d3e7b8a10")
DATABASE = "Bank warehouse (bi)"
DASHBOARD = "Customer value"
PASSWORD_MASK = "XXXXXXXXXX"  # Superset's own mask in an exported database URI
LATEST = "month_start_date = (select max(month_start_date) from bi.{view})"


def _uuid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def _metric(sql: str, label: str) -> dict:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label, "optionName": f"metric_{label}",
            "hasCustomLabel": True}


def _where(sql: str) -> dict:
    return {"expressionType": "SQL", "clause": "WHERE", "sqlExpression": sql,
            "filterOptionName": f"filter_{abs(hash(sql)) % 10**8}"}


# (title, view, viz type, its params): what the dashboard shows, latest month first
CHARTS = [
    ("Tier mix by branch", "customer_monthly", "pivot_table_v2", {
        "groupbyRows": ["branch_id"], "groupbyColumns": ["value_tier"],
        "metrics": [_metric("count(*)", "customers")], "aggregateFunction": "Sum",
        "adhoc_filters": [_where(LATEST.format(view="customer_monthly")), _where("is_in_book")],
        "metricsLayout": "COLUMNS", "rowOrder": "key_a_to_z", "colOrder": "key_a_to_z", "valueFormat": ",d"}),
    ("Value and value at risk per RM", "portfolio_monthly", "table", {
        "query_mode": "raw", "all_columns": ["portfolio_id", "rm_name", "branch_id", "customers",
                                             "current_value_cny", "value_at_risk_cny", "at_risk_value_saved_cny",
                                             "at_risk_value_lost_cny", "customers_at_risk"],
        "adhoc_filters": [_where(LATEST.format(view="portfolio_monthly")), _where("portfolio_level = 'rm'")],
        "order_by_cols": ['["current_value_cny", false]'], "row_limit": 1000, "table_timestamp_format": "smart_date"}),
    ("Segment profiles", "segments_vs_tiers_monthly", "table", {
        "query_mode": "aggregate", "groupby": ["segment_name", "segment_name_zh"],
        "metrics": [_metric("sum(customers)", "customers"),
                    _metric("round(sum(current_value_cny) / nullif(sum(customers), 0))", "average value"),
                    _metric("round(sum(assets_under_management_cny) / nullif(sum(customers), 0))", "average AUM"),
                    _metric("sum(outlier_customers)", "outliers")],
        "adhoc_filters": [_where(LATEST.format(view="segments_vs_tiers_monthly"))],
        "order_desc": True, "row_limit": 100}),
    ("Tier migrations since last month", "tier_migrations_monthly", "pivot_table_v2", {
        "groupbyRows": ["from_tier"], "groupbyColumns": ["to_tier"],
        "metrics": [_metric("count(*)", "customers")], "aggregateFunction": "Sum",
        "adhoc_filters": [_where(LATEST.format(view="tier_migrations_monthly"))],
        "metricsLayout": "COLUMNS", "rowOrder": "key_a_to_z", "colOrder": "key_a_to_z", "valueFormat": ",d"}),
    ("Profitability by product", "product_profitability_monthly", "table", {
        "query_mode": "aggregate", "groupby": ["product_code", "product_family"],
        "metrics": [_metric("sum(accounts_held)", "accounts"), _metric("sum(income_cny)", "income"),
                    _metric("sum(credit_cost_cny)", "credit cost"),
                    _metric("sum(account_cost_to_serve_cny)", "cost to serve"),
                    _metric("sum(contribution_cny)", "contribution")],
        "adhoc_filters": [_where(LATEST.format(view="product_profitability_monthly"))],
        "order_desc": True, "row_limit": 100}),
    ("Profitability by channel", "channel_profitability_monthly", "table", {
        "query_mode": "aggregate", "groupby": ["channel"],
        "metrics": [_metric("sum(transaction_count)", "transactions"), _metric("sum(fee_income_cny)", "fees"),
                    _metric("sum(cost_to_serve_cny)", "cost to serve"),
                    _metric("sum(contribution_cny)", "contribution")],
        "adhoc_filters": [_where(LATEST.format(view="channel_profitability_monthly"))],
        "order_desc": True, "row_limit": 100}),
]


def assets(warehouse_uri: str) -> dict[str, str]:
    """The import bundle: file name -> YAML, as Superset's own export writes it."""
    files = {"metadata.yaml": {"version": "1.0.0", "type": "assets", "timestamp": "2026-12-01T00:00:00+00:00"}}
    database_uuid = _uuid("database")
    user, _, host = warehouse_uri.partition("://")[2].partition("@")
    # the password is passed apart, as an export has it
    masked = f"postgresql://{user.split(':')[0]}:{PASSWORD_MASK}@{host}"
    files["databases/bank_warehouse.yaml"] = {
        "database_name": DATABASE, "sqlalchemy_uri": masked, "cache_timeout": None, "expose_in_sqllab": True,
        "allow_run_async": False, "allow_ctas": False, "allow_cvas": False, "allow_dml": False,
        "allow_file_upload": False,
        "extra": {"allows_virtual_table_explore": True, "schemas_allowed_for_file_upload": []},
        "uuid": database_uuid, "version": "1.0.0"}
    for view in sorted({view for _, view, _, _ in CHARTS}):
        files[f"datasets/bank_warehouse/{view}.yaml"] = {
            "table_name": view, "schema": "bi", "catalog": None, "main_dttm_col": None, "description": None,
            "default_endpoint": None, "offset": 0, "cache_timeout": None, "sql": None, "params": None,
            "template_params": None, "filter_select_enabled": True, "fetch_values_predicate": None, "extra": None,
            "normalize_columns": False, "always_filter_main_dttm": False, "uuid": _uuid(f"dataset {view}"),
            "metrics": [], "columns": [], "version": "1.0.0", "database_uuid": database_uuid}
    position = {"DASHBOARD_VERSION_KEY": "v2", "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
                "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
                "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": DASHBOARD}}}
    for number, (title, view, viz, params) in enumerate(CHARTS):
        chart_uuid = _uuid(f"chart {title}")
        files[f"charts/chart_{number}.yaml"] = {
            "slice_name": title, "description": None, "certified_by": None, "certification_details": None,
            "viz_type": viz, "params": {**params, "viz_type": viz, "datasource": f"{view}__table"},
            "query_context": None, "cache_timeout": None, "uuid": chart_uuid, "version": "1.0.0",
            "dataset_uuid": _uuid(f"dataset {view}")}
        row = f"ROW-{number // 2}"
        if number % 2 == 0:
            position["GRID_ID"]["children"].append(row)
            position[row] = {"type": "ROW", "id": row, "children": [], "parents": ["ROOT_ID", "GRID_ID"],
                             "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        chart = f"CHART-{number}"
        position[row]["children"].append(chart)
        position[chart] = {"type": "CHART", "id": chart, "children": [], "parents": ["ROOT_ID", "GRID_ID", row],
                           "meta": {"uuid": chart_uuid, "chartId": number + 1, "sliceName": title, "width": 6,
                                    "height": 50}}
    files["dashboards/customer_value.yaml"] = {
        "dashboard_title": DASHBOARD, "description": None, "css": "", "slug": "customer-value",
        "certified_by": "", "certification_details": "", "published": True, "uuid": _uuid("dashboard"),
        "position": position, "metadata": {"color_scheme": "supersetColors", "refresh_frequency": 0,
                                           "expanded_slices": {}, "label_colors": {}, "timed_refresh_immune_slices": [],
                                           "cross_filters_enabled": False, "native_filter_configuration": []},
        "version": "1.0.0"}
    return {name: yaml.safe_dump(content, allow_unicode=True, sort_keys=False) for name, content in files.items()}


def main() -> None:
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from flask import g
        from superset import db, security_manager
        from superset.commands.importers.v1.assets import ImportAssetsCommand
        from superset.connectors.sqla.models import SqlaTable

        admin = security_manager.find_user(username="admin")
        if admin is None:
            admin = security_manager.add_user("admin", "Bank", "Admin", "admin@localhost",
                                              security_manager.find_role("Admin"),
                                              password=os.environ["SUPERSET_ADMIN_PASSWORD"])
        g.user = admin
        bundle = assets(os.environ["BI_WAREHOUSE_URI"])
        ImportAssetsCommand(bundle, passwords={"databases/bank_warehouse.yaml": os.environ["BI_READER_PASSWORD"]}).run()
        for dataset in db.session.query(SqlaTable).filter(SqlaTable.schema == "bi").all():
            dataset.fetch_metadata()  # the columns as the bi view has them now
        db.session.commit()
        datasets = sum(name.startswith("datasets/") for name in bundle)
        print(f"imported the dashboard {DASHBOARD!r}: {len(CHARTS)} charts on {datasets} datasets")  # noqa: T201


if __name__ == "__main__":
    main()
