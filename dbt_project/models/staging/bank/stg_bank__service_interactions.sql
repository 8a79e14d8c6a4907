-- One row per service interaction; delivered twice keeps its latest delivery.
with

source as (
    select * from {{ source('bank', 'service_interactions') }}
),

latest as (
    select
        *,
        row_number() over (partition by interaction_id order by business_date desc, batch_id desc) as version_rank
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
    from latest
    where version_rank = 1
)

select * from final
