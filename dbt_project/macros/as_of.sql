{#- Join condition for a type-2 dimension: the version of `dimension` valid on `date_expression`
    (valid_from inclusive, valid_to exclusive, null valid_to = current). -#}
{% macro as_of(dimension, date_expression) -%}
    {{ date_expression }} >= {{ dimension }}.valid_from
    and ({{ dimension }}.valid_to is null or {{ date_expression }} < {{ dimension }}.valid_to)
{%- endmacro %}
