-- One row per service interaction (inquiry, complaint, visit), with the customer version valid on
-- the day it was opened and how long it took to resolve. An interaction of a customer whose master
-- record has not arrived keeps its customer_id, with no version yet (is_inferred_customer).
with

interactions as (
    select * from {{ ref('stg_bank__service_interactions') }}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

final as (
    select
        interactions.interaction_id,
        interactions.customer_id,
        customers.customer_key,
        customers.rm_id,
        interactions.business_date,
        interactions.interaction_type,
        interactions.channel,
        interactions.opened_at,
        interactions.resolved_at,
        round(extract(epoch from interactions.resolved_at - interactions.opened_at) / 3600.0, 2)
            as hours_to_resolve,
        interactions.satisfaction_score,
        interactions.interaction_type = 'complaint' as is_complaint,
        customers.customer_key is null as is_inferred_customer
    from interactions
    left join customers
        on interactions.customer_id = customers.customer_id
            and {{ as_of('customers', 'interactions.opened_at::date') }}
)

select * from final
