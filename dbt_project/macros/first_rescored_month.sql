{#- The first month whose newest scored churn model (ml.churn_models) is not the one the model being
    built holds for it (its churn_model_id column): first_rerun_month over the churn models. Reads
    one row per month of ml.churn_models. -#}
{% macro first_rescored_month() -%}
    {%- set models = source('ml', 'churn_models') -%}  {#- at parse time too: the model depends on them -#}
    {%- set scores = source('ml', 'churn_scores') -%}
    {%- set current_runs -%}
        select distinct on (models.month_start_date)
            models.month_start_date,
            models.model_id as run_id
        from {{ models }} as models
        where exists (select 1 from {{ scores }} as scores where scores.model_id = models.model_id)
        order by models.month_start_date asc, models.created_at desc, models.model_id desc
    {%- endset -%}
    {{- return(first_rerun_month(current_runs, 'churn_model_id')) -}}
{%- endmacro %}
