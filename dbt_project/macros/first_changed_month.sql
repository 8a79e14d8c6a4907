{#- Monthly marts are incremental by month. A run rebuilds every month from the first one holding
    a business date loaded or re-delivered since the model was last built (the newest delivery
    batch it was built from is in built_from_batch_id); later months follow, because a re-delivered
    date is loaded again with every date after it. Null, so nothing is rebuilt, when nothing is new. -#}
{% macro first_changed_month() -%}
    {%- set built_from = 'built_from_batch_id' -%}
    {%- if execute and built_from not in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
        {#- a table built before the column existed: rebuild every month -#}
        {%- set built_from = '0' -%}
    {%- endif -%}
    (
        select date_trunc('month', min(business_date))::date
        from {{ source('audit', 'deliveries') }}
        where batch_id > (select coalesce(max({{ built_from }}), 0) from {{ this }})
    )
{%- endmacro %}

{#- The newest delivery batch in the warehouse, recorded on each row a monthly mart builds. -#}
{% macro newest_batch_id() -%}
    (select max(batch_id) from {{ source('audit', 'deliveries') }})
{%- endmacro %}
