{#- A model built whole: dbt's `create table ... as`, or, for a model partitioned by month (meta
    `partition_by_month`, macro create_month_partitions), the partitioned table filled from a
    temporary one. -#}
{% macro postgres__get_create_table_as_sql(temporary, relation, sql) -%}
    {%- set column = none if temporary else config.get('meta', {}).get('partition_by_month') -%}
    {%- if not column -%}
        {{- return(default__get_create_table_as_sql(temporary, relation, sql)) -}}
    {%- endif -%}
    {%- set rows = make_temp_relation(this, '__dbt_rows') -%}
    create temporary table {{ rows }} as (
        {{ sql }}
    );
    create table {{ relation }} (like {{ rows }}) partition by range ({{ column }});
    {%- if relation.identifier != this.identifier %}
    {{ rename_month_partitions(this, make_backup_relation(this, 'table').identifier ~ '_p') }};
    {%- endif %}
    {{ create_month_partitions(relation, column, rows) }};
    insert into {{ relation }} select * from {{ rows }};
    drop table {{ rows }}
{%- endmacro %}
