-- Carries the customer version (customer_key, rm_id, home_sub_branch_id) valid on the business date.
-- One row per deposit or wealth account per business date. Incremental: each run takes the
-- business dates loaded (or re-delivered) since the last run, found by their newer batch ids,
-- and replaces those dates whole.
with

balances as (
    select * from {{ ref('stg_bank__deposit_balances') }}
    {% if is_incremental() %}
        where business_date >= {{ first_new_business_date() }}
    {% endif %}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

final as (
    select
        balances.account_id,
        balances.business_date,
        accounts.customer_id,
        customers.customer_key,
        customers.rm_id,
        customers.home_sub_branch_id,
        accounts.product_code,
        accounts.product_family,
        balances.balance_cny,
        balances.interest_rate_pct,
        balances.batch_id
    from balances
    left join accounts on balances.account_id = accounts.account_id
    left join customers
        on accounts.customer_id = customers.customer_id
            and {{ as_of('customers', 'balances.business_date') }}
)

select * from final
