{#- The business dates an incremental daily fact must (re)build: those loaded, or re-delivered,
    since the fact's newest batch. The load registry has one row per date with its latest batch id,
    so this reads a few hundred rows, never the raw tables. -#}
{% macro new_business_dates() -%}
    select business_date
    from {{ source('audit', 'deliveries') }}
    where batch_id > (select coalesce(max(batch_id), 0) from {{ this }})
{%- endmacro %}
