with

source as (
    select * from {{ source('bank', 'accounts') }}
),

latest as (
    select
        *,
        row_number() over (partition by account_id order by business_date desc, batch_id desc) as version_rank
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
    from latest
    where version_rank = 1
)

select * from final
