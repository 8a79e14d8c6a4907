-- One row per account (its latest delivered version), with its owner and product.
with

accounts as (
    {{ latest_version(ref('stg_bank__accounts'), 'account_id') }}
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
