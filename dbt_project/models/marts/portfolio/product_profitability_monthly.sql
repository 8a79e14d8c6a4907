-- One row per product per branch per month: what each product earned and cost, summed over the
-- account-months of the customers whose home sub-branch is in the branch on the month's last day
-- (docs/value-model.md). Contribution = spread + wealth fees - credit cost - account cost to serve;
-- transaction fees and costs are by channel (channel_profitability_monthly). Sums are rounded to the
-- cent after adding up, so they can differ by cents from the sum of customers' rounded values.
-- Row security for BI: the branch's (macro bi_row_security).
{{ config(post_hook="{{ bi_row_security(branch_column='branch_id') }}") }}
{%- set since_month = first_changed_month() if is_incremental() else none %}

with

deposit_months as (
    select * from {{ ref('int_deposit_account_months') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

loan_months as (
    select * from {{ ref('int_loan_account_months') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

credit_cost_months as (
    select * from {{ ref('int_loan_credit_cost_months') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

value_months as (
    select * from {{ ref('customer_value_monthly') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

branches as (
    select * from {{ ref('dim_branch') }}
),

products as (
    select * from {{ ref('dim_product') }}
),

cost_to_serve as (
    select * from {{ ref('cost_to_serve') }}
),

-- every account-month as what it brought in and what it cost
account_months as (
    select
        customer_id,
        month_start_date,
        product_code,
        balance_day_sum_cny,
        deposit_spread_cny + wealth_fee_income_cny as income_cny,
        0 as credit_cost_cny,
        is_held
    from deposit_months
    union all
    select
        customer_id,
        month_start_date,
        product_code,
        outstanding_day_sum_cny as balance_day_sum_cny,
        loan_spread_cny as income_cny,
        0 as credit_cost_cny,
        is_held
    from loan_months
    union all
    select
        customer_id,
        month_start_date,
        product_code,
        0 as balance_day_sum_cny,
        0 as income_cny,
        credit_cost_cny,
        false as is_held
    from credit_cost_months
),

final as (
    select
        account_months.month_start_date,
        branches.branch_id,
        account_months.product_code,
        products.product_family,
        count(*) filter (where account_months.is_held) as accounts_held,
        round(sum(account_months.balance_day_sum_cny) / max(value_months.days_delivered), 2)
            as daily_average_balance_cny,
        round(sum(account_months.income_cny), 2) as income_cny,
        round(sum(account_months.credit_cost_cny), 2) as credit_cost_cny,
        round(count(*) filter (where account_months.is_held) * max(cost_to_serve.unit_cost_cny), 2)
            as account_cost_to_serve_cny,
        round(
            sum(account_months.income_cny) - sum(account_months.credit_cost_cny)
            - count(*) filter (where account_months.is_held) * max(cost_to_serve.unit_cost_cny),
            2
        ) as contribution_cny,
        {{ newest_batch_id() }} as built_from_batch_id
    from account_months
    inner join value_months
        on account_months.customer_id = value_months.customer_id
            and account_months.month_start_date = value_months.month_start_date
    left join branches on value_months.home_sub_branch_id = branches.sub_branch_id
    left join products on account_months.product_code = products.product_code
    left join cost_to_serve on products.product_family = cost_to_serve.cost_driver
    group by account_months.month_start_date, branches.branch_id, account_months.product_code, products.product_family
)

select * from final
