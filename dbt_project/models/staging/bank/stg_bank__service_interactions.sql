-- One row per service interaction; delivered on two dates keeps its first delivery.
with

source as (
    select * from {{ source('bank', 'service_interactions') }}
),

first_delivery as (
    select
        *,
        row_number() over (partition by interaction_id order by business_date, batch_id desc) as delivery_rank
    from source
),

final as (
    select
        interaction_id,
        customer_id,
        interaction_type,
        channel,
        opened_at,
        resolved_at,
        satisfaction_score,
        business_date
    from first_delivery
    where delivery_rank = 1
)

select * from final
