{#- A personal identifier as the caller of a `bi` view may see it (columns tagged `meta: {pii: ...}`):
    `kind` identifier (national id, phone): its last four characters, the rest starred; `kind` name:
    its first character (a family name), the rest starred. With `clear_for_rm`, the row's RM column,
    qualified with its relation's alias: the RM whose customer it is sees it whole (an RM calls their customers by name); nobody else does. -#}
{% macro mask_pii(column, kind='identifier', clear_for_rm=none) -%}
    case
        when {{ column }} is null then null
        {%- if clear_for_rm %}
        when exists (
            select 1 from {{ source('security', 'bi_logins') }} as scope
            where scope.login = current_user and scope.allowed_rm_id = {{ clear_for_rm }}
        ) then {{ column }}
        {%- endif %}
        {%- if kind == 'name' %}
        else left({{ column }}, 1) || repeat('*', greatest(length({{ column }}) - 1, 1))
        {%- else %}
        else repeat('*', greatest(length({{ column }}) - 4, 0)) || right({{ column }}, 4)
        {%- endif %}
    end
{%- endmacro %}
