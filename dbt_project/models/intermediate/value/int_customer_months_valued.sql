-- One row per customer per month in which they had an account-month, a provision or a transaction:
-- the parts of current value, each rounded to the cent, and their sum (docs/value-model.md):
--   current value = deposit spread + wealth fees + loan spread - credit cost + fee income - cost to serve
--   cost to serve = accounts held x unit cost per account-month (seed cost_to_serve) + transaction costs
-- Incremental by month: a run rebuilds the months from the first one with new business dates, from
-- the narrow monthly sums under it (one month of them is a few rows per customer).
{{
    config(
        indexes=[{'columns': ['month_start_date']}, {'columns': ['customer_id', 'month_start_date'], 'unique': True}],
        meta={'insert_order_by': 'customer_id'},
    )
}}
{%- set since_month = first_changed_month() if is_incremental() else none %}

with

deposit_account_months as (
    select * from {{ ref('int_deposit_account_months') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

loan_account_months as (
    select * from {{ ref('int_loan_account_months') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

loan_credit_cost_months as (
    select * from {{ ref('int_loan_credit_cost_months') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

channel_months as (
    select * from {{ ref('int_customer_channel_months') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

cost_to_serve as (
    select * from {{ ref('cost_to_serve') }}
),

account_costs as (
    select
        max(unit_cost_cny) filter (where cost_driver = 'deposit') as deposit_account_cost_cny,
        max(unit_cost_cny) filter (where cost_driver = 'wealth') as wealth_account_cost_cny,
        max(unit_cost_cny) filter (where cost_driver = 'loan') as loan_account_cost_cny
    from cost_to_serve
),

deposits as (
    select
        customer_id,
        month_start_date,
        coalesce(sum(balance_day_sum_cny) filter (where product_family = 'deposit'), 0)
            as deposit_balance_day_sum_cny,
        coalesce(sum(balance_day_sum_cny) filter (where product_family = 'wealth'), 0)
            as wealth_balance_day_sum_cny,
        sum(deposit_spread_cny) as deposit_spread_cny,
        sum(wealth_fee_income_cny) as wealth_fee_income_cny,
        count(*) filter (where is_held and product_family = 'deposit') as deposit_accounts_held,
        count(*) filter (where is_held and product_family = 'wealth') as wealth_accounts_held,
        sum(delivered_balance_days) as delivered_balance_days,
        sum(estimated_balance_days) as estimated_balance_days
    from deposit_account_months
    where customer_id is not null
    group by 1, 2
),

loans as (
    select
        customer_id,
        month_start_date,
        sum(outstanding_day_sum_cny) as loan_balance_day_sum_cny,
        sum(loan_spread_cny) as loan_spread_cny,
        count(*) filter (where is_held) as loan_accounts_held,
        sum(non_accrual_days) as non_accrual_days,
        max(worst_classification_rank) as worst_classification_rank,
        sum(delivered_balance_days) as delivered_balance_days,
        sum(estimated_balance_days) as estimated_balance_days
    from loan_account_months
    where customer_id is not null
    group by 1, 2
),

credit_costs as (
    select
        customer_id,
        month_start_date,
        sum(provision_change_cny) as provision_change_cny,
        sum(write_off_cny) as write_off_cny,
        sum(closing_provision_cny) as closing_provision_cny
    from loan_credit_cost_months
    where customer_id is not null
    group by 1, 2
),

transactions as (
    select
        customer_id,
        month_start_date,
        coalesce(sum(transaction_count) filter (where channel <> 'system'), 0) as transaction_count,
        coalesce(sum(transaction_count) filter (where channel in ('mobile', 'web')), 0) as digital_transaction_count,
        sum(transaction_amount_cny) as transaction_amount_cny,
        sum(fee_income_cny) as fee_income_cny,
        sum(transaction_cost_cny) as transaction_cost_cny,
        max(last_transaction_date) filter (where channel <> 'system') as last_transaction_date
    from channel_months
    group by 1, 2
),

customer_months as (
    select
        customer_id,
        month_start_date
    from deposits
    union
    select
        customer_id,
        month_start_date
    from loans
    union
    select
        customer_id,
        month_start_date
    from credit_costs
    union
    select
        customer_id,
        month_start_date
    from transactions
),

parts as (
    select
        customer_months.customer_id,
        customer_months.month_start_date,
        coalesce(deposits.deposit_balance_day_sum_cny, 0) as deposit_balance_day_sum_cny,
        coalesce(deposits.wealth_balance_day_sum_cny, 0) as wealth_balance_day_sum_cny,
        coalesce(loans.loan_balance_day_sum_cny, 0) as loan_balance_day_sum_cny,
        coalesce(deposits.delivered_balance_days, 0) + coalesce(loans.delivered_balance_days, 0)
            as delivered_balance_days,
        coalesce(deposits.estimated_balance_days, 0) + coalesce(loans.estimated_balance_days, 0)
            as estimated_balance_days,
        coalesce(deposits.deposit_accounts_held, 0) as deposit_accounts_held,
        coalesce(deposits.wealth_accounts_held, 0) as wealth_accounts_held,
        coalesce(loans.loan_accounts_held, 0) as loan_accounts_held,
        coalesce(loans.non_accrual_days, 0) as non_accrual_days,
        loans.worst_classification_rank,
        coalesce(transactions.transaction_count, 0) as transaction_count,
        coalesce(transactions.digital_transaction_count, 0) as digital_transaction_count,
        coalesce(transactions.transaction_amount_cny, 0) as transaction_amount_cny,
        transactions.last_transaction_date,
        round(coalesce(deposits.deposit_spread_cny, 0), 2) as deposit_spread_cny,
        round(coalesce(deposits.wealth_fee_income_cny, 0), 2) as wealth_fee_income_cny,
        round(coalesce(loans.loan_spread_cny, 0), 2) as loan_spread_cny,
        round(coalesce(credit_costs.provision_change_cny, 0), 2) as provision_change_cny,
        round(coalesce(credit_costs.write_off_cny, 0), 2) as write_off_cny,
        round(coalesce(credit_costs.closing_provision_cny, 0), 2) as closing_provision_cny,
        round(coalesce(transactions.fee_income_cny, 0), 2) as fee_income_cny,
        round(
            coalesce(transactions.transaction_cost_cny, 0)
            + coalesce(deposits.deposit_accounts_held, 0) * account_costs.deposit_account_cost_cny
            + coalesce(deposits.wealth_accounts_held, 0) * account_costs.wealth_account_cost_cny
            + coalesce(loans.loan_accounts_held, 0) * account_costs.loan_account_cost_cny,
            2
        ) as cost_to_serve_cny
    from customer_months
    cross join account_costs
    left join deposits
        on customer_months.customer_id = deposits.customer_id
            and customer_months.month_start_date = deposits.month_start_date
    left join loans
        on customer_months.customer_id = loans.customer_id
            and customer_months.month_start_date = loans.month_start_date
    left join credit_costs
        on customer_months.customer_id = credit_costs.customer_id
            and customer_months.month_start_date = credit_costs.month_start_date
    left join transactions
        on customer_months.customer_id = transactions.customer_id
            and customer_months.month_start_date = transactions.month_start_date
),

final as (
    select
        *,
        deposit_accounts_held + wealth_accounts_held + loan_accounts_held as accounts_held,
        provision_change_cny + write_off_cny as credit_cost_cny,
        deposit_spread_cny + wealth_fee_income_cny + loan_spread_cny - (provision_change_cny + write_off_cny)
        + fee_income_cny - cost_to_serve_cny as current_value_cny,
        {{ newest_batch_id() }} as built_from_batch_id
    from parts
)

select * from final
