-- One row per transaction. The loader keeps a transaction's first delivery and quarantines later
-- copies (rule unique_key_across_deliveries), so no de-duplication here: a window over every
-- transaction ever delivered would stop incremental runs from reading one date only. The unique
-- test on transaction_id checks the rule holds.
with

source as (
    select * from {{ source('bank', 'transactions') }}
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
        source_file
    from source
)

select * from final
