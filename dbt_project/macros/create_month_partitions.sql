{#-
    Tables partitioned by month (docs/scaling.md): a model whose meta sets `partition_by_month` (a date
    column; the daily facts: business_date) is a table range-partitioned by that column, one
    partition per calendar month, named `<model>_pYYYYMM`. A night's new day then goes into one
    month's table and indexes, not into a year's: its insert, cold, took 2.8 s instead of 21 s at
    100,000 customers after a year (docs/benchmarks.md), and a month is dropped, moved or vacuumed
    alone.
    - Built whole (first build, --full-refresh): postgres__get_create_table_as_sql. The rows go
      first into a temporary table, which gives the months (Postgres cannot create a partitioned
      table from a query, and a row without its partition is an error). `create table as` runs the
      model's select with parallel workers; an `insert ... select` does not (Postgres 16), and the
      fact's select is the cost: a single insert from the select, the months taken from the
      deliveries, was slower for all it saved a write (docs/benchmarks.md).
    - Built incrementally: the strategy replace_partitions creates the months the new rows need.
    A table an earlier version built unpartitioned keeps working as it is, with a warning each night;
    a full refresh partitions it.

    This macro creates the missing month partitions of `parent` for the months of `column` in `rows`,
    named after the model (the parent may be dbt's intermediate relation, renamed to the model after
    the build).
-#}
{% macro create_month_partitions(parent, column, rows) -%}
do $create_month_partitions$
declare
    first_day date;
begin
    for first_day in
        select distinct date_trunc('month', {{ column }})::date from {{ rows }}
        where {{ column }} is not null order by 1
    loop
        execute format('create table if not exists %I.%I partition of %s for values from (%L) to (%L)',
                       {{ dbt.string_literal(parent.schema) }},
                       {{ dbt.string_literal(this.identifier ~ '_p') }} || to_char(first_day, 'YYYYMM'),
                       {{ dbt.string_literal(parent.render()) }}, first_day, (first_day + interval '1 month')::date);
    end loop;
end $create_month_partitions$
{%- endmacro %}
