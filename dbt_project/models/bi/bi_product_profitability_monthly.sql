-- One row per branch, product and month (marts.product_profitability_monthly): accounts, balance,
-- income, credit cost, cost to serve and contribution. A branch manager sees their branch's, head
-- office all; an RM none (the rows are a branch's, not the RM's customers).
{{ config(alias='product_profitability_monthly') }}
with

products as (
    select * from {{ ref('product_profitability_monthly') }}
),

final as (
    select
        products.month_start_date,
        products.branch_id,
        products.product_code,
        products.product_family,
        products.accounts_held,
        products.daily_average_balance_cny,
        products.income_cny,
        products.credit_cost_cny,
        products.account_cost_to_serve_cny,
        products.contribution_cny
    from products
)

select * from final
