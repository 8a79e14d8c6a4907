{#- The newest delivered business date, recorded as built_through_date by the models that add up days. -#}
{% macro newest_business_date() -%}
    (select max(business_date) from {{ source('audit', 'deliveries') }})
{%- endmacro %}
