-- One row per deposit or wealth account per business date (the bank's daily balance table).
with

source as (
    select * from {{ source('bank', 'deposit_balances') }}
),

final as (
    select
        account_id,
        business_date,
        balance_cny,
        interest_rate_pct,
        batch_id,
        source_file
    from source
)

select * from final
