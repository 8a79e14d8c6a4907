-- One row per customer per version (slowly changing dimension, type 2). A version starts on the
-- business date its record was delivered (the first one on the onboarding date, if earlier) and
-- ends where the next version starts: valid_to is exclusive and null for the current version.
-- "Who was this customer's RM on 31 March?" is
--   where customer_id = ... and valid_from <= '2026-03-31' and (valid_to is null or valid_to > '2026-03-31')
with

versions as (
    select * from {{ ref('stg_bank__customers') }}
),

windowed as (
    select
        *,
        row_number() over (partition by customer_id order by delivered_date) as version_number,
        lead(delivered_date) over (partition by customer_id order by delivered_date) as next_delivered_date
    from versions
),

final as (
    select
        md5(customer_id || '|' || delivered_date::text) as customer_key,
        customer_id,
        version_number,
        case
            when version_number = 1 then least(onboarding_date, delivered_date)
            else delivered_date
        end as valid_from,
        next_delivered_date as valid_to,
        next_delivered_date is null as is_current,
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
    from windowed
)

select * from final
