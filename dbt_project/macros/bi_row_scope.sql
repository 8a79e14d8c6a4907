{#- The rows of a mart a `bi` view may show the caller (DESIGN.md §6), as a condition on the mart's
    columns: everything for head office (members of bi_head_office); an RM login's own customers
    (security.bi_logins.allowed_rm_id = the row's `rm_column`); a branch manager's branch
    (allowed_branch_id = the row's `branch_column`, for a login without an RM). A mart without an rm
    or branch column is head office's only. The caller is `current_user`, which a view does not
    change: the view reads the mart as its owner, but the condition is the caller's. -#}
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

{#- Row security on a mart that a `bi` view reads (a post-hook: a table dbt builds whole is new, and
    loses its policies): Postgres itself filters the rows for whoever reads them through `bi`, so it
    holds whichever tool connects. The bi views belong to bi_view_owner, which reads the mart under
    the policy bi_row_scope, whose condition is the caller's (bi_row_scope above). The components that
    read the marts whole (warehouse/access.py: the ML writer, the report builder) read under
    pipeline_reads; dbt, the mart's owner, is not subject to it. -#}
{% macro bi_row_security(rm_column=none, branch_column=none) -%}
    alter table {{ this }} enable row level security;
    grant select on {{ this }} to bi_view_owner;
    drop policy if exists bi_row_scope on {{ this }};
    create policy bi_row_scope on {{ this }} for select to bi_view_owner
        using {{ bi_row_scope(rm_column, branch_column) }};
    drop policy if exists pipeline_reads on {{ this }};
    create policy pipeline_reads on {{ this }} for select to bank_ml, bank_reports using (true)
{%- endmacro %}
