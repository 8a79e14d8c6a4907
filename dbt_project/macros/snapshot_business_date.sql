{#-
    The history snapshots record a change on the business date it was delivered, not on the day
    dbt happened to run. dbt creates them from the first delivered date
    (`--vars '{snapshot_date: YYYY-MM-DD}'`); warehouse/history.py replays the later dates' records
    into them in one set-based pass, versions as `dbt snapshot` would write them date by date.
    Without the var (a plain `dbt build` or `dbt snapshot`) the date is the latest delivered one,
    which after a replay changes nothing.
-#}
{% macro snapshot_business_date() -%}
    {%- set business_date = var('snapshot_date', none) -%}
    {%- if business_date is none and execute -%}
        {%- set latest = run_query("select max(business_date)::text from audit.deliveries").columns[0].values()[0] -%}
        {%- if latest is none -%}
            {{ exceptions.raise_compiler_error(
                "No delivery is loaded (audit.deliveries is empty): run the bank_extract_load DAG first.") }}
        {%- endif -%}
        {%- set business_date = latest -%}
    {%- endif -%}
    {{- return(business_date) -}}
{%- endmacro %}
