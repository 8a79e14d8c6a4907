-- One row per account per business date on which it was delivered (masters are deltas:
-- each row is a version); the dimensions pick the latest or keep them all (SCD2).
with

source as (
    select * from {{ source('bank', 'accounts') }}
),

versions as (
    select
        *,
        row_number() over (partition by account_id, business_date order by batch_id desc) as version_rank
    from source
),

final as (
    select
        account_id,
        customer_id,
        product_code,
        opened_date,
        maturity_date,
        closed_date,
        contract_rate_pct,
        principal_cny,
        business_date as delivered_date
    from versions
    where version_rank = 1
)

select * from final
