-- One row per service interaction (the loader keeps the first delivery of an id; see stg_bank__transactions).
with

source as (
    select * from {{ source('bank', 'service_interactions') }}
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
    from source
)

select * from final
