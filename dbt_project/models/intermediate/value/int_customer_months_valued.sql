-- One row per customer per month in which they held an account or transacted: the parts of
-- current value (DESIGN.md §2), every rate and unit cost taken from the parameter seeds.
--   deposit spread  = balance x (FTP rate - rate paid) / days_in_year, summed over the days
--   wealth fees     = balance x management fee rate / days_in_year
--   loan spread     = outstanding x (rate charged - FTP rate) / days_in_year
--   expected loss   = outstanding x PD(classification) x LGD / days_in_year
--   cost to serve   = accounts held x unit cost per account-month + transactions x unit cost by channel
-- Incremental by month: a run rebuilds the months from the first one with new business dates.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='month_start_date',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['month_start_date']}],
    )
}}

with

deposit_balances as (
    select * from {{ ref('fct_deposit_balances_daily') }}
    {% if is_incremental() %}
        where business_date >= {{ first_changed_month() }}
    {% endif %}
),

loan_balances as (
    select * from {{ ref('fct_loan_balances_daily') }}
    {% if is_incremental() %}
        where business_date >= {{ first_changed_month() }}
    {% endif %}
),

transactions as (
    select * from {{ ref('fct_transactions') }}
    {% if is_incremental() %}
        where business_date >= {{ first_changed_month() }}
    {% endif %}
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

deposit_months as (
    select
        deposit_balances.customer_id,
        date_trunc('month', deposit_balances.business_date)::date as month_start_date,
        sum(deposit_balances.balance_cny) filter (
            where deposit_balances.product_family = 'deposit'
        ) as deposit_balance_day_sum_cny,
        sum(deposit_balances.balance_cny) filter (
            where deposit_balances.product_family = 'wealth'
        ) as wealth_balance_day_sum_cny,
        sum(
            case when deposit_balances.product_family = 'deposit'
                    then deposit_balances.balance_cny * (products.ftp_rate_pct - deposit_balances.interest_rate_pct)
            end
        ) / 100.0 / {{ var('days_in_year') }} as deposit_spread_cny,
        sum(
            case when deposit_balances.product_family = 'wealth'
                    then deposit_balances.balance_cny * {{ var('wealth_management_fee_rate_pct') }}
            end
        ) / 100.0 / {{ var('days_in_year') }} as wealth_fee_income_cny,
        count(distinct deposit_balances.account_id) filter (
            where deposit_balances.product_family = 'deposit'
        ) as deposit_accounts_held,
        count(distinct deposit_balances.account_id) filter (
            where deposit_balances.product_family = 'wealth'
        ) as wealth_accounts_held
    from deposit_balances
    left join products on deposit_balances.product_code = products.product_code
    group by 1, 2
),

loan_months as (
    select
        loan_balances.customer_id,
        date_trunc('month', loan_balances.business_date)::date as month_start_date,
        sum(loan_balances.outstanding_cny) as loan_balance_day_sum_cny,
        sum(loan_balances.outstanding_cny * (loan_balances.interest_rate_pct - products.ftp_rate_pct))
        / 100.0 / {{ var('days_in_year') }} as loan_spread_cny,
        sum(
            loan_balances.outstanding_cny
            * classification_risk.probability_of_default
            * classification_risk.loss_given_default
        ) / {{ var('days_in_year') }} as expected_credit_loss_cny,
        max(classification_risk.classification_rank) as worst_classification_rank,
        count(distinct loan_balances.account_id) as loan_accounts_held
    from loan_balances
    left join products on loan_balances.product_code = products.product_code
    left join classification_risk on loan_balances.classification = classification_risk.classification
    group by 1, 2
),

transaction_months as (
    select
        transactions.customer_id,
        date_trunc('month', transactions.business_date)::date as month_start_date,
        count(*) as transaction_count,
        count(*) filter (where transactions.channel in ('mobile', 'web')) as digital_transaction_count,
        sum(transactions.amount_cny) as transaction_amount_cny,
        sum(transactions.fee_cny) as fee_income_cny,
        sum(cost_to_serve.unit_cost_cny) as transaction_cost_cny
    from transactions
    left join cost_to_serve on transactions.channel = cost_to_serve.cost_driver
    group by 1, 2
),

keys as (
    select
        customer_id,
        month_start_date
    from deposit_months
    union
    select
        customer_id,
        month_start_date
    from loan_months
    union
    select
        customer_id,
        month_start_date
    from transaction_months
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
        keys.customer_id,
        keys.month_start_date,
        coalesce(deposit_months.deposit_balance_day_sum_cny, 0) as deposit_balance_day_sum_cny,
        coalesce(deposit_months.wealth_balance_day_sum_cny, 0) as wealth_balance_day_sum_cny,
        coalesce(loan_months.loan_balance_day_sum_cny, 0) as loan_balance_day_sum_cny,
        coalesce(deposit_months.deposit_spread_cny, 0) as deposit_spread_cny,
        coalesce(deposit_months.wealth_fee_income_cny, 0) as wealth_fee_income_cny,
        coalesce(loan_months.loan_spread_cny, 0) as loan_spread_cny,
        coalesce(loan_months.expected_credit_loss_cny, 0) as expected_credit_loss_cny,
        coalesce(transaction_months.fee_income_cny, 0) as fee_income_cny,
        coalesce(transaction_months.transaction_count, 0) as transaction_count,
        coalesce(transaction_months.digital_transaction_count, 0) as digital_transaction_count,
        coalesce(transaction_months.transaction_amount_cny, 0) as transaction_amount_cny,
        loan_months.worst_classification_rank,
        coalesce(deposit_months.deposit_accounts_held, 0)
        + coalesce(deposit_months.wealth_accounts_held, 0)
        + coalesce(loan_months.loan_accounts_held, 0) as accounts_held,
        coalesce(transaction_months.transaction_cost_cny, 0)
        + coalesce(deposit_months.deposit_accounts_held, 0) * unit_costs.deposit_account_cost_cny
        + coalesce(deposit_months.wealth_accounts_held, 0) * unit_costs.wealth_account_cost_cny
        + coalesce(loan_months.loan_accounts_held, 0) * unit_costs.loan_account_cost_cny as cost_to_serve_cny,
        {{ newest_batch_id() }} as built_from_batch_id
    from keys
    cross join unit_costs
    left join deposit_months
        on keys.customer_id = deposit_months.customer_id and keys.month_start_date = deposit_months.month_start_date
    left join loan_months
        on keys.customer_id = loan_months.customer_id and keys.month_start_date = loan_months.month_start_date
    left join transaction_months
        on keys.customer_id = transaction_months.customer_id
            and keys.month_start_date = transaction_months.month_start_date
)

select * from final
