{#-
    What a night's data tests read (docs/scaling.md): the rows the night wrote, not the whole history.

    A row-level test (not_null, accepted_values, relationships, unique_combination, unique) or a
    reconciliation to the control files (reconciles_to_control) of
    - a table that records built_from_batch_id (the daily facts, the monthly models) reads the rows
      its last build wrote: whole business dates or months, replaced together, so a key's duplicates
      are among them (a full refresh writes every row, so it tests every row). A single-column
      `unique` too: the keys that are unique across deliveries (a transaction's id) are held so by the
      loader, which quarantines a key an earlier date delivered (data contract), so a duplicate a build
      makes (a join that fans out) is among the rows it wrote. A reconciliation compares the dates
      those rows hold (tests/generic/reconciles_to_control.sql);
    - a staging view of a daily file (business_date and batch_id) reads the newest delivery's rows;
      the facts built from it are tested on every date they wrote.
    The bound is a literal, looked up when the test is compiled: a subquery's value is unknown when
    Postgres plans, and after a full refresh (one batch id on every row) it guessed every row and
    scanned the table (0.47 s for 12,000 rows of 4.4 million at 10k customers after a year).
    A test's own `where` config applies as well. `dbt build --vars '{test_every_row: true}'` (or
    --full-refresh) tests every row of everything: the weekly DAG bank_data_tests, or after a
    correction.
-#}
{% macro postgres__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set bounded_tests = ('not_null', 'accepted_values', 'relationships', 'unique_combination', 'unique',
                             'reconciles_to_control') -%}
    {%- set bound = none -%}
    {%- if execute and not flags.FULL_REFRESH and not var('test_every_row', false)
          and model.test_metadata is defined and model.test_metadata.name in bounded_tests -%}
        {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
        {%- if 'built_from_batch_id' in columns -%}
            {%- set newest = run_query('select max(built_from_batch_id) from ' ~ relation).columns[0].values()[0] -%}
            {%- if newest is not none -%}
                {%- set bound = 'built_from_batch_id = ' ~ newest -%}
            {%- endif -%}
        {%- elif 'batch_id' in columns and 'business_date' in columns -%}
            {%- set newest = run_query(
                'select batch_id, min(business_date)::text, max(business_date)::text from audit.deliveries'
                ~ ' where batch_id = (select max(batch_id) from audit.deliveries) group by batch_id').rows -%}
            {%- if newest -%}
                {#- the dates too: Postgres reads only their partitions of the raw table -#}
                {%- set bound = 'batch_id = ' ~ newest[0][0] ~ " and business_date between date '" ~ newest[0][1]
                                ~ "' and date '" ~ newest[0][2] ~ "'" -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {%- if bound is not none -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ bound ~ (' and (' ~ where ~ ')' if where else '')
                      ~ ') as written_last') -%}
    {%- endif -%}
    {%- do return(default__get_where_subquery(relation)) -%}
{%- endmacro %}
