{#- `analyze` of the model just built whole (a table, or an incremental model's first build or full
    refresh), for its post-hook; nothing for a view, or for an incremental run (the strategy
    replace_partitions analyzes what it inserts). A table dbt has just created has no statistics:
    autovacuum analyzes it a minute later, too late for the models after it in the same run, which
    plan it as a few rows (rm_report_customers, at 100,000 customers, joined a just-created segments
    mart by nested loops: over 2 minutes, 6 s once analyzed). -#}
{% macro analyze_if_rebuilt() -%}
    {%- if model.config.materialized == 'table'
            or (model.config.materialized == 'incremental' and not is_incremental()) -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
