-- One row per transaction; a transaction delivered twice keeps its latest delivery.
with

source as (
    select * from {{ source('bank', 'transactions') }}
),

latest as (
    select
        *,
        row_number() over (partition by transaction_id order by business_date desc, batch_id desc) as version_rank
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
    from latest
    where version_rank = 1
)

select * from final
