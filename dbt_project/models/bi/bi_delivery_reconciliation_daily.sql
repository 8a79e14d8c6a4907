-- One row per business date and data file (marts.delivery_reconciliation_daily): the facts'
-- reconciliation to the control files. Head office only.
{{ config(alias='delivery_reconciliation_daily') }}
with

reconciliation as (
    select * from {{ ref('delivery_reconciliation_daily') }}
),

final as (
    select
        reconciliation.business_date,
        reconciliation.file_name,
        reconciliation.fact,
        reconciliation.control_rows,
        reconciliation.fact_rows,
        reconciliation.quarantined_rows,
        reconciliation.control_amount_cny,
        reconciliation.accounted_amount_cny,
        reconciliation.is_reconciled
    from reconciliation
)

select * from final
