{#- Override of dbt's default__get_empty_schema_sql, the empty query a contract's column types are
    checked against, without its warning on a column declared `numeric` with no precision or scale.
    That warning is for engines where a bare numeric has scale 0 (Snowflake's number(38,0) stores 1.1
    as 1). In Postgres a bare numeric is exact at any precision and scale: the marts round where
    docs/value-model.md says (each part of a month's value to the cent), and a scale declared in the
    contract would only round a second time, silently, wherever a rule changed. Every night's log
    carried two of these warnings, which hid the ones that matter. A column with no data_type is still
    an error, as in dbt's. -#}
{% macro postgres__get_empty_schema_sql(columns) %}
    {%- set col_err = [] -%}
    select
    {% for i in columns %}
      {%- set col = columns[i] -%}
      {%- if col['data_type'] is not defined -%}
        {%- do col_err.append(col['name']) -%}
      {%- endif -%}
      {% set col_name = adapter.quote(col['name']) if col.get('quote') else col['name'] %}
      {{ cast('null', col['data_type']) }} as {{ col_name }}{{ ", " if not loop.last }}
    {%- endfor -%}
    {%- if (col_err | length) > 0 -%}
      {{ exceptions.column_type_missing(column_names=col_err) }}
    {%- endif -%}
{% endmacro %}
