-- One row per customer per version (slowly changing dimension, type 2), from the snap_customers
-- snapshot: a version starts on the business date it was delivered (the first one on the
-- onboarding date, if earlier) and ends where the next version starts: valid_to is exclusive and
-- null for the current version.
-- "Who was this customer's RM on 31 March?" is
--   where customer_id = ... and valid_from <= '2026-03-31' and (valid_to is null or valid_to > '2026-03-31')
with

snapshot as (
    select * from {{ ref('snap_customers') }}
),

numbered as (
    select
        *,
        row_number() over (partition by customer_id order by dbt_valid_from) as version_number
    from snapshot
),

final as (
    select
        dbt_scd_id as customer_key,
        customer_id,
        version_number,
        case
            when version_number = 1 then least(onboarding_date, dbt_valid_from::date)
            else dbt_valid_from::date
        end as valid_from,
        dbt_valid_to::date as valid_to,
        dbt_valid_to is null as is_current,
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
    from numbered
)

select * from final
