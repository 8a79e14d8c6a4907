-- One row per customer per month in which they held an account or transacted: the parts of
-- current value (DESIGN.md §2), every rate and unit cost taken from the parameter seeds.
--   deposit spread  = balance x (FTP rate - rate paid) / days_in_year, summed over the days
--   wealth fees     = balance x management fee rate / days_in_year
--   loan spread     = outstanding x (rate charged - FTP rate) / days_in_year
--   expected loss   = outstanding x PD(classification) x LGD / days_in_year
--   cost to serve   = accounts held x unit cost per account-month + transactions x unit cost by channel
-- Balance days are counted as delivered or estimated (a missing day carries the last known balance
-- forward, fct_*_balances_daily.is_estimated). Transactions count the customer's own, not the
-- bank's system postings. The sums are kept exact (the *_basis columns, before the division by 100
-- and days_in_year), so a month can be added to day by day. Incremental (macro monthly_build_plan):
-- the nightly run adds the new days to their month; a re-delivered date rebuilds every month from its own.
-- tests/dbt/test_incremental.py holds both ways to a full refresh.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='month_start_date',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['month_start_date']}, {'columns': ['customer_id', 'month_start_date'], 'unique': True}],
        meta={'insert_order_by': 'customer_id'},
    )
}}
{%- set plan = monthly_build_plan() if is_incremental() else {'mode': 'full refresh', 'start_date': none} %}
{%- set appending = plan['mode'] == 'append' %}
{%- set since_start = ('where business_date >= ' ~ plan['start_date']) if plan['start_date'] else '' %}

with

deposit_balances as (
    select * from {{ ref('fct_deposit_balances_daily') }}
    {{ since_start }}
),

loan_balances as (
    select * from {{ ref('fct_loan_balances_daily') }}
    {{ since_start }}
),

transactions as (
    select * from {{ ref('fct_transactions') }}
    {{ since_start }}
),

products as (
    select * from {{ ref('dim_product') }}
),

classification_risk as (
    select * from {{ ref('loan_classification_risk') }}
),

cost_to_serve as (
    select * from {{ ref('cost_to_serve') }}
),

-- an account is held in a month from the first day it has a balance in it (macro account_first_held)
{{ account_first_held('deposit_balances', 'fct_deposit_balances_daily', appending, since_start) }},

{{ account_first_held('loan_balances', 'fct_loan_balances_daily', appending, since_start) }},

-- every balance and transaction row as its contribution to the customer's month
deposit_contributions as (
    select
        deposit_balances.customer_id,
        date_trunc('month', deposit_balances.business_date)::date as month_start_date,
        case
            when deposit_balances.product_family = 'deposit' then deposit_balances.balance_cny
        end as deposit_balance_day_sum_cny,
        case
            when deposit_balances.product_family = 'wealth' then deposit_balances.balance_cny
        end as wealth_balance_day_sum_cny,
        null::numeric as loan_balance_day_sum_cny,
        case
            when deposit_balances.product_family = 'deposit'
                then deposit_balances.balance_cny * (products.ftp_rate_pct - deposit_balances.interest_rate_pct)
        end as deposit_spread_basis,
        null::numeric as loan_spread_basis,
        null::numeric as expected_credit_loss_basis,
        null::integer as worst_classification_rank,
        null::bigint as transaction_count,
        null::bigint as digital_transaction_count,
        null::numeric as transaction_amount_cny,
        null::numeric as fee_income_cny,
        null::numeric as transaction_cost_cny,
        null::date as last_transaction_date,
        case
            when deposit_balances.is_first_day_in_month and deposit_balances.product_family = 'deposit' then 1
        end as deposit_accounts_held,
        case
            when deposit_balances.is_first_day_in_month and deposit_balances.product_family = 'wealth' then 1
        end as wealth_accounts_held,
        null::bigint as loan_accounts_held,
        case when not deposit_balances.is_estimated then 1 end as delivered_balance_days,
        case when deposit_balances.is_estimated then 1 end as estimated_balance_days
    from deposit_balances_first_held as deposit_balances
    left join products on deposit_balances.product_code = products.product_code
),

loan_contributions as (
    select
        loan_balances.customer_id,
        date_trunc('month', loan_balances.business_date)::date as month_start_date,
        null::numeric as deposit_balance_day_sum_cny,
        null::numeric as wealth_balance_day_sum_cny,
        loan_balances.outstanding_cny as loan_balance_day_sum_cny,
        null::numeric as deposit_spread_basis,
        loan_balances.outstanding_cny * (loan_balances.interest_rate_pct - products.ftp_rate_pct)
            as loan_spread_basis,
        loan_balances.outstanding_cny
        * classification_risk.probability_of_default
        * classification_risk.loss_given_default as expected_credit_loss_basis,
        classification_risk.classification_rank as worst_classification_rank,
        null::bigint as transaction_count,
        null::bigint as digital_transaction_count,
        null::numeric as transaction_amount_cny,
        null::numeric as fee_income_cny,
        null::numeric as transaction_cost_cny,
        null::date as last_transaction_date,
        null::bigint as deposit_accounts_held,
        null::bigint as wealth_accounts_held,
        case when loan_balances.is_first_day_in_month then 1 end as loan_accounts_held,
        case when not loan_balances.is_estimated then 1 end as delivered_balance_days,
        case when loan_balances.is_estimated then 1 end as estimated_balance_days
    from loan_balances_first_held as loan_balances
    left join products on loan_balances.product_code = products.product_code
    left join classification_risk on loan_balances.classification = classification_risk.classification
),

transaction_contributions as (
    select
        transactions.customer_id,
        date_trunc('month', transactions.business_date)::date as month_start_date,
        null::numeric as deposit_balance_day_sum_cny,
        null::numeric as wealth_balance_day_sum_cny,
        null::numeric as loan_balance_day_sum_cny,
        null::numeric as deposit_spread_basis,
        null::numeric as loan_spread_basis,
        null::numeric as expected_credit_loss_basis,
        null::integer as worst_classification_rank,
        case when transactions.channel <> 'system' then 1 end as transaction_count,
        case when transactions.channel in ('mobile', 'web') then 1 end as digital_transaction_count,
        transactions.amount_cny as transaction_amount_cny,
        transactions.fee_cny as fee_income_cny,
        cost_to_serve.unit_cost_cny as transaction_cost_cny,
        transactions.business_date as last_transaction_date,
        null::bigint as deposit_accounts_held,
        null::bigint as wealth_accounts_held,
        null::bigint as loan_accounts_held,
        null::bigint as delivered_balance_days,
        null::bigint as estimated_balance_days
    from transactions
    left join cost_to_serve on transactions.channel = cost_to_serve.cost_driver
),
{%- if appending %}

-- what the month already holds, before the new days
month_so_far as (
    select
        customer_id,
        month_start_date,
        deposit_balance_day_sum_cny,
        wealth_balance_day_sum_cny,
        loan_balance_day_sum_cny,
        deposit_spread_basis,
        loan_spread_basis,
        expected_credit_loss_basis,
        worst_classification_rank,
        transaction_count,
        digital_transaction_count,
        transaction_amount_cny,
        fee_income_cny,
        transaction_cost_cny,
        last_transaction_date,
        deposit_accounts_held,
        wealth_accounts_held,
        loan_accounts_held,
        delivered_balance_days,
        estimated_balance_days
    from {{ this }}
    where month_start_date >= date_trunc('month', {{ plan['start_date'] }})::date
),
{%- endif %}

contributions as (
    select * from deposit_contributions
    union all
    select * from loan_contributions
    union all
    select * from transaction_contributions
    {%- if appending %}
    union all
    select * from month_so_far
    {%- endif %}
),

months as (
    select
        customer_id,
        month_start_date,
        coalesce(sum(deposit_balance_day_sum_cny), 0) as deposit_balance_day_sum_cny,
        coalesce(sum(wealth_balance_day_sum_cny), 0) as wealth_balance_day_sum_cny,
        coalesce(sum(loan_balance_day_sum_cny), 0) as loan_balance_day_sum_cny,
        coalesce(sum(deposit_spread_basis), 0) as deposit_spread_basis,
        coalesce(sum(loan_spread_basis), 0) as loan_spread_basis,
        coalesce(sum(expected_credit_loss_basis), 0) as expected_credit_loss_basis,
        max(worst_classification_rank) as worst_classification_rank,
        coalesce(sum(transaction_count), 0)::bigint as transaction_count,
        coalesce(sum(digital_transaction_count), 0)::bigint as digital_transaction_count,
        coalesce(sum(transaction_amount_cny), 0) as transaction_amount_cny,
        coalesce(sum(fee_income_cny), 0) as fee_income_cny,
        coalesce(sum(transaction_cost_cny), 0) as transaction_cost_cny,
        max(last_transaction_date) as last_transaction_date,
        coalesce(sum(deposit_accounts_held), 0)::bigint as deposit_accounts_held,
        coalesce(sum(wealth_accounts_held), 0)::bigint as wealth_accounts_held,
        coalesce(sum(loan_accounts_held), 0)::bigint as loan_accounts_held,
        coalesce(sum(delivered_balance_days), 0)::bigint as delivered_balance_days,
        coalesce(sum(estimated_balance_days), 0)::bigint as estimated_balance_days
    from contributions
    -- rows of an account not delivered yet (inferred member) belong to no customer until it arrives
    where customer_id is not null
    group by customer_id, month_start_date
),

unit_costs as (
    select
        max(unit_cost_cny) filter (where cost_driver = 'deposit') as deposit_account_cost_cny,
        max(unit_cost_cny) filter (where cost_driver = 'wealth') as wealth_account_cost_cny,
        max(unit_cost_cny) filter (where cost_driver = 'loan') as loan_account_cost_cny
    from cost_to_serve
),

final as (
    select
        months.customer_id,
        months.month_start_date,
        months.deposit_balance_day_sum_cny,
        months.wealth_balance_day_sum_cny,
        months.loan_balance_day_sum_cny,
        months.deposit_spread_basis / 100.0 / {{ var('days_in_year') }} as deposit_spread_cny,
        months.wealth_balance_day_sum_cny * {{ var('wealth_management_fee_rate_pct') }}
        / 100.0 / {{ var('days_in_year') }} as wealth_fee_income_cny,
        months.loan_spread_basis / 100.0 / {{ var('days_in_year') }} as loan_spread_cny,
        months.expected_credit_loss_basis / {{ var('days_in_year') }} as expected_credit_loss_cny,
        months.fee_income_cny,
        months.transaction_count,
        months.digital_transaction_count,
        months.transaction_amount_cny,
        months.last_transaction_date,
        months.worst_classification_rank,
        months.deposit_accounts_held + months.wealth_accounts_held + months.loan_accounts_held as accounts_held,
        months.transaction_cost_cny
        + months.deposit_accounts_held * unit_costs.deposit_account_cost_cny
        + months.wealth_accounts_held * unit_costs.wealth_account_cost_cny
        + months.loan_accounts_held * unit_costs.loan_account_cost_cny as cost_to_serve_cny,
        months.deposit_spread_basis,
        months.loan_spread_basis,
        months.expected_credit_loss_basis,
        months.transaction_cost_cny,
        months.deposit_accounts_held,
        months.wealth_accounts_held,
        months.loan_accounts_held,
        months.delivered_balance_days,
        months.estimated_balance_days,
        {{ newest_batch_id() }} as built_from_batch_id,
        {{ newest_business_date() }} as built_through_date
    from months
    cross join unit_costs
)

select * from final
