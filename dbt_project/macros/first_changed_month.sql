{#- The first month a monthly model must (re)build, as a SQL date literal: the month of
    first_new_business_date; `null::date` when nothing is new. -#}
{% macro first_changed_month() -%}
    {%- set first_date = new_business_dates_start('built_from_batch_id') -%}
    {{- return("date '" ~ first_date[:8] ~ "01'" if first_date else 'null::date') -}}
{%- endmacro %}
