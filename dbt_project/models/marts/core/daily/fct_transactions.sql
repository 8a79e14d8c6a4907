-- Carries the customer version (customer_key, rm_id, home_sub_branch_id) valid on the business date.
-- One row per transaction from the settlement system. A transaction of an account whose master has
-- not arrived points at its inferred member (is_inferred_account). Incremental like
-- fct_deposit_balances_daily.
with

transactions as (
    select * from {{ ref('stg_bank__transactions') }}
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
        transactions.transaction_id,
        transactions.account_id,
        accounts.customer_id,
        customers.customer_key,
        customers.rm_id,
        customers.home_sub_branch_id,
        transactions.business_date,
        transactions.transaction_at,
        transactions.channel,
        transactions.transaction_type,
        transactions.amount_cny,
        transactions.fee_cny,
        coalesce(accounts.is_inferred_member, false) as is_inferred_account,
        transactions.batch_id,
        {{ newest_batch_id() }} as built_from_batch_id
    from transactions
    left join accounts on transactions.account_id = accounts.account_id
    left join customers
        on accounts.customer_id = customers.customer_id
            and {{ as_of('customers', 'transactions.business_date') }}
)

select * from final
