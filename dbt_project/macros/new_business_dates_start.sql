{#- The first business date new to the model being built, as text (YYYY-MM-DD), or none: the earliest
    date in audit.deliveries whose revision_batch_id is newer than the newest batch the model holds
    (`batch_column`, every incremental model's built_from_batch_id, recorded at build time). Every
    later date is rebuilt too, which is what is needed: the loader reloads every date after a
    re-delivered one. The load registry has one row per date, so this reads a few hundred rows. -#}
{% macro new_business_dates_start(batch_column) -%}
    {%- set deliveries = source('audit', 'deliveries') -%}  {#- at parse time too: the model depends on it -#}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- if batch_column not in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
        {#- a table built before the column existed: rebuild every date -#}
        {%- set batch_column = '0' -%}
    {%- endif -%}
    {%- set query -%}
        select min(business_date)::text
        from {{ deliveries }}
        where revision_batch_id > (select coalesce(max({{ batch_column }}), 0) from {{ this }})
    {%- endset -%}
    {{- return(run_query(query).columns[0].values()[0]) -}}
{%- endmacro %}
