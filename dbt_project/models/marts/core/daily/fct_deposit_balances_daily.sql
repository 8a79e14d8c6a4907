-- Carries the customer version (customer_key, rm_id, home_sub_branch_id) valid on the business date.
-- One row per deposit or wealth account per business date on which it was open: the delivered
-- balance, or, when the day's line is missing (quarantined, or left out), the last known balance
-- carried forward and flagged is_estimated (macro missing_balance_days): a missing day is not a zero.
-- A balance of an account whose master has not arrived points at its inferred member
-- (is_inferred_account) and counts for no customer until the record arrives.
-- Incremental: each run takes the business dates loaded, re-delivered or revised since its build
-- and replaces those dates whole.
{%- set since = first_new_business_date() if is_incremental() else none %}

with

balances as (
    select * from {{ ref('stg_bank__deposit_balances') }}
    {% if since %}where business_date >= {{ since }}{% endif %}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

{{ missing_balance_days('stg_bank__deposit_balances', since, ['balance_cny', 'interest_rate_pct'],
                        ['deposit', 'wealth']) }},

delivered_and_estimated as (
    select
        account_id,
        business_date,
        balance_cny,
        interest_rate_pct,
        batch_id,
        false as is_estimated,
        null::date as estimated_from_date
    from balances
    union all
    select
        account_id,
        business_date,
        balance_cny,
        interest_rate_pct,
        batch_id,
        true as is_estimated,
        estimated_from_date
    from estimated_balances
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
        balances.is_estimated,
        balances.estimated_from_date,
        coalesce(accounts.is_inferred_member, false) as is_inferred_account,
        balances.batch_id,
        {{ newest_batch_id() }} as built_from_batch_id
    from delivered_and_estimated as balances
    left join accounts on balances.account_id = accounts.account_id
    left join customers
        on accounts.customer_id = customers.customer_id
            and {{ as_of('customers', 'balances.business_date') }}
)

select * from final
