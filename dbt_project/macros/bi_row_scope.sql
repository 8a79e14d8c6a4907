{#- The rows of a `bi` view the caller may see (DESIGN.md §6), as a condition for its where clause:
    everything for head office (members of bi_head_office; a superuser, dbt, counts as one); an RM
    login's own customers (security.bi_logins.allowed_rm_id = the row's `rm_column`); a branch
    manager's branch (allowed_branch_id = the row's `branch_column`, for a login without an RM). A view without
    an rm or branch column is head office's only. The caller is `current_user`, which a view does
    not change: the view reads the marts as its owner, but filters for whoever queries it. -#}
{#- The columns must be qualified with their relation's alias. -#}
{% macro bi_row_scope(rm_column=none, branch_column=none) -%}
    (pg_has_role('bi_head_office', 'usage')
        {%- if rm_column or branch_column %}
        or exists (
            select 1 from {{ source('security', 'bi_logins') }} as scope
            where scope.login = current_user
                and (
                    {%- if rm_column %}scope.allowed_rm_id = {{ rm_column }}{% else %}false{% endif %}
                    or {% if branch_column %}(scope.allowed_rm_id is null and scope.allowed_branch_id = {{ branch_column }})
                    {%- else %}false{% endif %}
                )
        )
        {%- endif %})
{%- endmacro %}
