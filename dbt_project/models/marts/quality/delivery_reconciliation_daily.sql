-- The reconciliation of every fact to the control files (BCBS 239), kept: one row per business date
-- per data file, the control file's row count and amount total beside the fact's rows plus the lines
-- quarantined from the file, and whether they agree to the cent (macro control_reconciliation, the
-- same comparison as the test reconciles_to_control, which fails the build when a date does not
-- agree). The RM reports' cover shows it per month (rm_report_books); BI shows it per date.
-- Incremental like the daily facts: a run replaces the business dates loaded, re-delivered or revised.
-- Row security for BI: head office's alone (macro bi_row_security).
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='business_date',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['business_date']}, {'columns': ['file_name', 'business_date'], 'unique': True}],
        post_hook="{{ bi_row_security() }}",
    )
}}
{%- set since = first_new_business_date() if is_incremental() else none %}
{#- each fact with the file it comes from and the amount the control total sums; estimated balance
    rows (a missing day carried forward) were never delivered -#}
{%- set facts = [
    ('fct_deposit_balances_daily', 'deposit_balances.csv', 'balance_cny', 'not is_estimated'),
    ('fct_loan_balances_daily', 'loan_balances.csv', 'outstanding_cny', 'not is_estimated'),
    ('fct_transactions', 'transactions.csv', 'amount_cny', none),
    ('fct_service_interactions', 'service_interactions.csv', none, none),
] %}

with

{% for fact, file_name, amount_column, delivered in facts %}
{{ fact }} as (
    {%- set rows = ref(fact) if not delivered
        else '(select * from ' ~ ref(fact) ~ ' where ' ~ delivered ~ ') as delivered' %}
    {{ control_reconciliation(rows, file_name, amount_column, since) | indent(4) }}
),
{% endfor %}

final as (
    {%- for fact, file_name, amount_column, delivered in facts %}
    select
        business_date,
        file_name,
        '{{ fact }}' as fact,
        control_rows,
        fact_rows,
        quarantined_rows,
        control_amount as control_amount_cny,
        accounted_amount as accounted_amount_cny,
        is_reconciled,
        {{ newest_batch_id() }} as built_from_batch_id
    from {{ fact }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select * from final
