-- One row per channel through which customers transact, with its unit cost per transaction.
with

channels as (
    select * from {{ ref('channels') }}
),

cost_to_serve as (
    select * from {{ ref('cost_to_serve') }}
),

final as (
    select
        channels.channel,
        channels.channel_name,
        channels.is_digital,
        channels.is_self_service,
        cost_to_serve.unit_cost_cny as cost_per_transaction_cny
    from channels
    left join cost_to_serve on channels.channel = cost_to_serve.cost_driver
)

select * from final
