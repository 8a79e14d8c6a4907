-- One row per customer whose relationship is open (the current version): profile, RM and branch
-- path, products held, latest balances, latest value tier and last activity. The bank's
-- "information query" for one customer. National ID and phone are masked (mask_pii).
-- Row security for BI: the RM's and the branch's (macro bi_row_security).
{{ config(post_hook="{{ bi_row_security(rm_column='rm_id', branch_column='branch_id') }}") }}
with

customers as (
    select * from {{ ref('dim_customer') }}
    where is_current and not is_closed
),

relationship_managers as (
    select * from {{ ref('dim_relationship_manager') }}
),

branches as (
    select * from {{ ref('dim_branch') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

deposit_balances as (
    select * from {{ ref('fct_deposit_balances_daily') }}
),

loan_balances as (
    select * from {{ ref('fct_loan_balances_daily') }}
),

interactions as (
    select * from {{ ref('fct_service_interactions') }}
),

customer_value as (
    select * from {{ ref('customer_value_monthly') }}
),

months_valued as (
    select * from {{ ref('int_customer_months_valued') }}
),

dates as (
    select * from {{ ref('dim_date') }}
),

-- the calendar ends on the last delivered business date
last_business_date as (
    select max(date_day) as business_date from dates
),

products_held as (
    select
        customer_id,
        count(*) as open_accounts,
        string_agg(distinct product_type, ', ' order by product_type) as product_types_held
    from accounts
    where is_open
    group by 1
),

latest_deposits as (
    select
        deposit_balances.customer_id,
        sum(deposit_balances.balance_cny) filter (where deposit_balances.product_family = 'deposit')
            as deposit_balance_cny,
        sum(deposit_balances.balance_cny) filter (where deposit_balances.product_family = 'wealth')
            as wealth_balance_cny
    from deposit_balances
    where deposit_balances.business_date = (select last_business_date.business_date from last_business_date)
    group by 1
),

latest_loans as (
    select
        loan_balances.customer_id,
        sum(loan_balances.outstanding_cny) as loan_outstanding_cny,
        max(loan_balances.days_past_due) as max_days_past_due
    from loan_balances
    where loan_balances.business_date = (select last_business_date.business_date from last_business_date)
    group by 1
),

-- the months carry each customer's last transaction date: no scan of the transactions
activity as (
    select
        customer_id,
        max(last_transaction_date) as last_transaction_date
    from months_valued
    group by 1
),

service as (
    select
        interactions.customer_id,
        max(interactions.business_date) as last_interaction_date,
        count(*) filter (
            where interactions.is_complaint
            and interactions.business_date > last_business_date.business_date - 90
        ) as complaints_last_90_days
    from interactions
    cross join last_business_date
    group by 1
),

latest_value as (
    select distinct on (customer_id)
        customer_id,
        month_start_date as value_month_start_date,
        value_tier,
        relationship_type,
        current_value_cny
    from customer_value
    -- distinct on needs its key first in the order by
    order by customer_id asc, month_start_date desc  -- noqa: AM06
),

final as (
    select
        customers.customer_id,
        customers.customer_type,
        customers.full_name,
        {{ mask_pii('customers.national_id') }} as national_id_masked,
        {{ mask_pii('customers.phone') }} as phone_masked,
        customers.birth_date,
        customers.gender,
        customers.industry,
        customers.occupation,
        customers.income_band,
        customers.district,
        customers.onboarding_date,
        (last_business_date.business_date - customers.onboarding_date) / 365.25 as tenure_years,
        customers.referred_by_customer_id,
        customers.group_id,
        customers.rm_id,
        relationship_managers.rm_name,
        branches.sub_branch_id,
        branches.sub_branch_name,
        branches.branch_id,
        branches.branch_name,
        coalesce(products_held.open_accounts, 0) as open_accounts,
        products_held.product_types_held,
        last_business_date.business_date as balances_as_of_date,
        coalesce(latest_deposits.deposit_balance_cny, 0) as deposit_balance_cny,
        coalesce(latest_deposits.wealth_balance_cny, 0) as wealth_balance_cny,
        coalesce(latest_loans.loan_outstanding_cny, 0) as loan_outstanding_cny,
        latest_loans.max_days_past_due,
        latest_value.value_month_start_date,
        latest_value.value_tier,
        latest_value.relationship_type,
        latest_value.current_value_cny,
        activity.last_transaction_date,
        service.last_interaction_date,
        coalesce(service.complaints_last_90_days, 0) as complaints_last_90_days
    from customers
    cross join last_business_date
    left join relationship_managers on customers.rm_id = relationship_managers.rm_id
    left join branches on customers.home_sub_branch_id = branches.sub_branch_id
    left join products_held on customers.customer_id = products_held.customer_id
    left join latest_deposits on customers.customer_id = latest_deposits.customer_id
    left join latest_loans on customers.customer_id = latest_loans.customer_id
    left join activity on customers.customer_id = activity.customer_id
    left join service on customers.customer_id = service.customer_id
    left join latest_value on customers.customer_id = latest_value.customer_id
)

select * from final
