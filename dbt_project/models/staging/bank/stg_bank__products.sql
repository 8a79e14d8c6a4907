-- One row per product per business date on which it was delivered (masters are deltas:
-- each row is a version); the dimensions pick the latest or keep them all (SCD2).
with

source as (
    select * from {{ source('bank', 'products') }}
),

versions as (
    select
        *,
        row_number() over (partition by product_code, business_date order by batch_id desc) as version_rank
    from source
),

final as (
    select
        product_code,
        product_name,
        product_family,
        product_type,
        coalesce(term_months, 0) as term_months,
        rate_type,
        business_date as delivered_date
    from versions
    where version_rank = 1
)

select * from final
