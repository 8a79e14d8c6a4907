with

source as (
    select * from {{ source('bank', 'products') }}
),

latest as (
    select
        *,
        row_number() over (partition by product_code order by business_date desc, batch_id desc) as version_rank
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
    from latest
    where version_rank = 1
)

select * from final
