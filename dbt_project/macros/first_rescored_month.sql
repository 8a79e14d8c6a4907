{#- The first month whose newest scored churn model (ml.churn_models) is not the one the model being
    built holds for it (its churn_model_id column), as a SQL date literal; `null::date` when every
    month is up to date. The churn model re-scores a month without a new delivery (a retrained
    model), which first_changed_month cannot see. Reads one row per month of ml.churn_models and
    one indexed probe per month of the model. -#}
{% macro first_rescored_month() -%}
    {%- set models = source('ml', 'churn_models') -%}  {#- at parse time too: the model depends on them -#}
    {%- set scores = source('ml', 'churn_scores') -%}
    {%- if not execute -%}
        {{- return('null::date') -}}
    {%- endif -%}
    {%- set query -%}
        with newest as (
            select distinct on (models.month_start_date)
                models.month_start_date,
                models.model_id
            from {{ models }} as models
            where exists (select 1 from {{ scores }} as scores where scores.model_id = models.model_id)
            order by models.month_start_date asc, models.created_at desc, models.model_id desc
        )

        select min(newest.month_start_date)::text
        from newest
        where not exists (
            select 1 from {{ this }} as built
            where built.month_start_date = newest.month_start_date and built.churn_model_id = newest.model_id
        )
    {%- endset -%}
    {%- set first = run_query(query).columns[0].values()[0] -%}
    {{- return("date '" ~ first ~ "'" if first else 'null::date') -}}
{%- endmacro %}
