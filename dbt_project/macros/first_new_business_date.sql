{#- The first business date an incremental model must (re)build, as a SQL date literal: the earliest
    one loaded, re-delivered or revised (a quarantined line retried, a late master resolving its
    events) since the newest batch the model was built from. `null::date` (nothing is rebuilt) when
    nothing is new. Written into the model's SQL as a literal, looked up when the model runs, so that
    Postgres plans with the real date: it skips every raw partition before it and reads a fact's new
    dates through the index (a subquery's value is unknown when planning; the planner guessed a third
    of the table and scanned it all). -#}
{% macro first_new_business_date(batch_column='built_from_batch_id') -%}
    {%- set first_date = new_business_dates_start(batch_column) -%}
    {{- return("date '" ~ first_date ~ "'" if first_date else 'null::date') -}}
{%- endmacro %}
