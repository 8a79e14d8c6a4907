{#- The first month whose current ml run (``current_runs``: a select of month_start_date, run_id, one
    row per month) is not the one the model being built holds for it (its ``built_column``), as a SQL
    date literal; `null::date` when every month is up to date. An ml job re-runs a month without a
    new delivery, which first_changed_month cannot see. One indexed probe per month of the model. -#}
{% macro first_rerun_month(current_runs, built_column) -%}
    {%- if not execute -%}
        {{- return('null::date') -}}
    {%- endif -%}
    {%- set query -%}
        with current_runs as ({{ current_runs }})

        select min(current_runs.month_start_date)::text
        from current_runs
        where not exists (
            select 1 from {{ this }} as built
            where built.month_start_date = current_runs.month_start_date
                and built.{{ built_column }} = current_runs.run_id
        )
    {%- endset -%}
    {%- set first = run_query(query).columns[0].values()[0] -%}
    {{- return("date '" ~ first ~ "'" if first else 'null::date') -}}
{%- endmacro %}
