-- One row per account: its current version in the snap_accounts history, with its owner and product;
-- and one inferred member ("not yet delivered") per account that balances or transactions pointed at
-- before its master record arrived. The inferred member has no owner or product: the facts that
-- point at it count in no customer's value until the record arrives, and the loader then revises
-- their dates so that they are rebuilt against the real account (late-arriving dimension).
with

accounts as (
    select * from {{ ref('snap_accounts') }}
    where dbt_valid_to is null
),

products as (
    select * from {{ ref('dim_product') }}
),

unresolved_references as (
    select * from {{ ref('stg_audit__unresolved_references') }}
    where referenced_table = 'accounts'
),

delivered as (
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
        accounts.closed_date is null as is_open,
        false as is_inferred_member
    from accounts
    left join products on accounts.product_code = products.product_code
),

inferred as (
    select distinct
        unresolved_references.referenced_key as account_id,
        null::text as customer_id,
        null::text as product_code,
        null::text as product_family,
        null::text as product_type,
        null::date as opened_date,
        null::date as maturity_date,
        null::date as closed_date,
        null::numeric as contract_rate_pct,
        null::numeric as principal_cny,
        null::boolean as is_open,
        true as is_inferred_member
    from unresolved_references
    left join delivered on unresolved_references.referenced_key = delivered.account_id
    where delivered.account_id is null
),

final as (
    select * from delivered
    union all
    select * from inferred
)

select * from final
