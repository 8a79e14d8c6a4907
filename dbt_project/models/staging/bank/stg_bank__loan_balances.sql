-- One row per loan account per business date.
with

source as (
    select * from {{ source('bank', 'loan_balances') }}
),

final as (
    select
        account_id,
        business_date,
        outstanding_cny,
        interest_rate_pct,
        days_past_due,
        classification,
        batch_id,
        source_file
    from source
)

select * from final
