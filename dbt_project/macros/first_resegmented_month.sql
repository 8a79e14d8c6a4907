{#- The first month whose current segmentation run (ml.segmentation_runs, the newest of the month) is
    not the one the model being built holds for it (its ``built_column``, default segmentation_run_id):
    first_rerun_month over the segmentation runs. -#}
{% macro first_resegmented_month(built_column='segmentation_run_id') -%}
    {%- set runs = source('ml', 'segmentation_runs') -%}  {#- at parse time too: the model depends on it -#}
    {%- set current_runs -%}
        select distinct on (runs.month_start_date)
            runs.month_start_date,
            runs.run_id
        from {{ runs }} as runs
        order by runs.month_start_date asc, runs.created_at desc, runs.run_id desc
    {%- endset -%}
    {{- return(first_rerun_month(current_runs, built_column)) -}}
{%- endmacro %}
