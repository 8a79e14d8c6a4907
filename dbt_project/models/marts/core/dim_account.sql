-- One row per account (its current version in the snap_accounts history), with its owner and product.
with

accounts as (
    select * from {{ ref('snap_accounts') }}
    where dbt_valid_to is null
),

products as (
    select * from {{ ref('dim_product') }}
),

final as (
    select
        accounts.account_id,
        accounts.customer_id,
        accounts.product_code,
        products.product_family,
        products.product_type,
        accounts.opened_date,
        accounts.maturity_date,
        accounts.closed_date,
        accounts.contract_rate_pct,
        accounts.principal_cny,
        accounts.closed_date is null as is_open
    from accounts
    left join products on accounts.product_code = products.product_code
)

select * from final
