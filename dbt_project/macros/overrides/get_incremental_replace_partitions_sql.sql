{#- Incremental strategy `replace_partitions`: the model's unique_key names whole partitions of it
    (a business date, a month); the partitions the new rows hold are deleted, then the rows inserted.
    dbt's own delete+insert does the same, but on postgres it was slow for two reasons this fixes:
    - dbt fills the new rows into a fresh temporary table that has no statistics; planning the
      delete blind, Postgres assumed ~200 keys and scanned the whole fact (3.7 million rows, 0.8 s,
      for one new day). Analyzed first, the delete reads the replaced keys through the index;
    - rows inserted in the order of the model's busiest index (meta `insert_order_by`, e.g.
      customer_id) touch its pages in order instead of at random: half the insert time.
    A model partitioned by month (meta `partition_by_month`, macro create_month_partitions) gets the
    partitions its new rows need first; one that an earlier version built as one table is warned about
    and keeps working as it is.
    The target is analyzed after the insert (unless meta `analyze_after_insert` is false, as for
    the daily facts): a new month is a twelfth of a year's table, below
    autovacuum's analyze threshold (10%), so without it every model downstream planned the month as
    one row and joined it by nested loops or a merge on the month alone (channel_profitability_monthly:
    948 ms for a new month at 5,000 customers, 8 ms once analyzed; docs/benchmarks.md). -#}
{% macro get_incremental_replace_partitions_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set meta = config.get('meta', {}) -%}
    {%- set order = [key] + ([meta.get('insert_order_by')] if meta.get('insert_order_by') else []) -%}
    {%- set partition_column = meta.get('partition_by_month') -%}
    {%- if partition_column -%}
        {%- set kind = run_query('select relkind from pg_class where oid = '
                                 ~ dbt.string_literal(target.render()) ~ '::regclass').columns[0].values()[0] -%}
        {%- if kind != 'p' -%}
            {%- do exceptions.warn(target ~ ' is one table, built before the daily facts were partitioned by month: '
                                   ~ 'each night still works on it; `dbt run --full-refresh --select '
                                   ~ 'path:models/marts/core/daily` (as the transformer) partitions it (docs/scaling.md)') -%}
            {%- set partition_column = none -%}
        {%- endif -%}
    {%- endif %}
    analyze {{ source }};
    {%- if partition_column %}
    {{ create_month_partitions(target, partition_column, source) }};
    {%- endif %}
    delete from {{ target }}
    where {{ key }} in (select distinct {{ key }} from {{ source }});
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
    order by {{ order | join(', ') }}
    {%- if meta.get('analyze_after_insert', true) %};
    analyze {{ target }}
    {%- endif %}
{%- endmacro %}
