-- One row per transaction; a transaction delivered on two dates keeps its first delivery
-- (the loader's rule: it quarantines the later copy, so this is a safety net).
with

source as (
    select * from {{ source('bank', 'transactions') }}
),

first_delivery as (
    select
        *,
        row_number() over (partition by transaction_id order by business_date, batch_id desc) as delivery_rank
    from source
),

final as (
    select
        transaction_id,
        account_id,
        transaction_at,
        business_date,
        channel,
        transaction_type,
        amount_cny,
        fee_cny,
        batch_id,
        source_line
    from first_delivery
    where delivery_rank = 1
)

select * from final
