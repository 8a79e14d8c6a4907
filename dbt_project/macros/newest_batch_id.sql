{#- The newest batch that loaded or revised a business date, recorded on each row an incremental model
    builds (built_from_batch_id), so that its next run knows which business dates are new to it. -#}
{% macro newest_batch_id() -%}
    (select max(revision_batch_id) from {{ source('audit', 'deliveries') }})
{%- endmacro %}
