-- One row per customer (current state). Personal identifiers stay here, never in the marts BI reads.
with

customers as (
    select * from {{ ref('stg_bank__customers') }}
),

final as (
    select
        md5(customer_id) as customer_key,
        customer_id,
        customer_type,
        full_name,
        national_id,
        phone,
        birth_date,
        gender,
        industry,
        occupation,
        income_band,
        district,
        onboarding_date,
        home_sub_branch_id,
        rm_id,
        referred_by_customer_id,
        group_id,
        closed_date,
        closed_date is not null as is_closed
    from customers
)

select * from final
