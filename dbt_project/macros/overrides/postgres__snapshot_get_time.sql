{#- Snapshot time = the business date being replayed (dbt's default is the clock). -#}
{% macro postgres__snapshot_get_time() -%}
    '{{ snapshot_business_date() }}'::timestamp without time zone
{%- endmacro %}
