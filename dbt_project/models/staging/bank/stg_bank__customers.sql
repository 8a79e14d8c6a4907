-- One row per customer per business date on which it was delivered (masters are deltas:
-- each row is a version); the dimensions pick the latest or keep them all (SCD2).
with

source as (
    select * from {{ source('bank', 'customers') }}
),

versions as (
    select
        *,
        row_number() over (partition by customer_id, business_date order by batch_id desc) as version_rank
    from source
),

final as (
    select
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
        business_date as delivered_date
    from versions
    where version_rank = 1
)

select * from final
