{#-
    What a night's data tests read (docs/scaling.md): the rows the night wrote, not the whole history.

    A row-level test (not_null, accepted_values, relationships, unique_combination, unique) of
    - a table that records built_from_batch_id (the daily facts, the monthly models) reads the rows
      its last build wrote: whole business dates or months, replaced together, so a key's duplicates
      are among them (a full refresh writes every row, so it tests every row). A single-column
      `unique` still reads every row: a key may repeat one from another date;
    - a staging view of a daily file (business_date and batch_id) reads the newest delivery's rows;
      the facts built from it are tested on every date they wrote.
    `dbt build --vars '{test_every_row: true}'` (or --full-refresh) tests every row of everything,
    as a weekly job or after a correction. A test with its own `where` config keeps it.
-#}
{% macro postgres__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set row_tests = ('not_null', 'accepted_values', 'relationships', 'unique_combination', 'unique') -%}
    {%- set bound = none -%}
    {%- if execute and not where and not flags.FULL_REFRESH and not var('test_every_row', false)
          and model.test_metadata is defined and model.test_metadata.name in row_tests -%}
        {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
        {%- if 'built_from_batch_id' in columns and model.test_metadata.name != 'unique' -%}
            {%- set bound = 'built_from_batch_id = (select max(built_from_batch_id) from ' ~ relation ~ ')' -%}
        {%- elif 'batch_id' in columns and 'business_date' in columns -%}
            {%- set bound = 'batch_id = (select max(batch_id) from audit.deliveries)' -%}
        {%- endif -%}
    {%- endif -%}
    {%- if bound is not none -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ bound ~ ') as written_last') -%}
    {%- endif -%}
    {%- do return(default__get_where_subquery(relation)) -%}
{%- endmacro %}
