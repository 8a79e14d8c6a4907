{#- The latest delivered version of each record of a master staging model (one row per key). -#}
{% macro latest_version(relation, key) -%}
    select distinct on ({{ key }}) *
    from {{ relation }}
    order by {{ key }}, delivered_date desc
{%- endmacro %}
