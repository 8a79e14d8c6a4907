{#- Use the folder's schema name as it is (staging, intermediate, marts, parameters), not
    "<target schema>_<custom schema>": the schemas are the warehouse's public layout. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
