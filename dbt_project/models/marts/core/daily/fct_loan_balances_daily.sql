-- Carries the customer version (customer_key, rm_id, home_sub_branch_id) valid on the business date.
-- One row per loan account per business date on which it was open, with days past due and
-- classification: delivered, or carried forward from the last known day when the day's line is
-- missing (is_estimated). The day's IFRS 9 credit stage (seeds credit_stages and
-- loan_classification_risk, docs/value-model.md): the highest stage whose days-past-due threshold the
-- loan reaches, or its classification's minimum stage if higher; a stage 3 day accrues no interest. Inferred accounts and incremental builds as in fct_deposit_balances_daily.
{%- set since = first_new_business_date() if is_incremental() else none %}

with

balances as (
    select * from {{ ref('stg_bank__loan_balances') }}
    {% if since %}where business_date >= {{ since }}{% endif %}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

classes as (
    select * from {{ ref('loan_classification_risk') }}
),

stages as (
    select * from {{ ref('credit_stages') }}
),

{{ missing_balance_days('stg_bank__loan_balances', since,
                        ['outstanding_cny', 'interest_rate_pct', 'days_past_due', 'classification'], ['loan']) }},

delivered_and_estimated as (
    select
        account_id,
        business_date,
        outstanding_cny,
        interest_rate_pct,
        days_past_due,
        classification,
        batch_id,
        false as is_estimated,
        null::date as estimated_from_date
    from balances
    union all
    select
        account_id,
        business_date,
        outstanding_cny,
        interest_rate_pct,
        days_past_due,
        classification,
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
        balances.outstanding_cny,
        balances.interest_rate_pct,
        balances.days_past_due,
        balances.classification,
        greatest(
            classes.minimum_stage,
            (select max(stages.stage) from stages where balances.days_past_due >= stages.minimum_days_past_due)
        ) as credit_stage,
        balances.is_estimated,
        balances.estimated_from_date,
        coalesce(accounts.is_inferred_member, false) as is_inferred_account,
        balances.batch_id,
        {{ newest_batch_id() }} as built_from_batch_id
    from delivered_and_estimated as balances
    left join accounts on balances.account_id = accounts.account_id
    left join classes on balances.classification = classes.classification
    left join customers
        on accounts.customer_id = customers.customer_id
            and {{ as_of('customers', 'balances.business_date') }}
)

select * from final
