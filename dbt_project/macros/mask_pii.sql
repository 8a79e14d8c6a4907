{#- Mask a personal identifier for people who must not see it whole: keep the last four characters. -#}
{% macro mask_pii(column) -%}
    case when {{ column }} is null then null
        else repeat('*', greatest(length({{ column }}) - 4, 0)) || right({{ column }}, 4) end
{%- endmacro %}
