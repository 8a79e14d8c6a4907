{#- Reconciliation to the source (BCBS 239): for every business date, the rows of the fact plus the
    lines quarantined from `file_name` equal the control file's row count, and (with
    `amount_column`) the fact's amounts plus the quarantined lines' amounts equal its amount total,
    to the cent (macro control_reconciliation). Rows the fact estimated (config
    `where: not is_estimated`) were never delivered. On a night, the model is the rows the last build
    wrote (macro postgres__get_where_subquery): the dates from the first of them on are compared;
    with --full-refresh or var test_every_row, every date. Returns the dates that do not reconcile. -#}
{% test reconciles_to_control(model, file_name, amount_column=none) %}
{%- set since = none -%}
{%- if execute and 'written_last' in (model | string) -%}
    {%- set first_date = run_query('select min(business_date)::text from ' ~ model).columns[0].values()[0] -%}
    {%- set since = "date '" ~ first_date ~ "'" if first_date else none -%}
{%- endif %}
select *
from ({{ control_reconciliation(model, file_name, amount_column, since) }}) as reconciliation
where not is_reconciled
{% endtest %}
