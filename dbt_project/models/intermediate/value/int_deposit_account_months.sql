-- One row per deposit or wealth account per month in which it had a balance row (delivered, or
-- estimated: a missing day carries the last known balance forward). The month's sums over its days,
-- in CNY (docs/value-model.md):
--   deposit spread  = balance x (FTP rate - rate paid) / 100 / days_in_year, each day
--                     (an overdrawn current account: a negative balance at the rate charged, a loan)
--   wealth fees     = balance x management fee rate / 100 / days_in_year, each day
--   held            = open and a non-zero balance on some day of the month
-- A day's amount is kept to 8 decimals of a CNY, so sums are exact whichever way a month is added up.
-- Incremental (macro monthly_build_plan): the nightly run adds the new days to their month; a
-- re-delivered or revised date sums every month from its own again.
{{
    config(
        indexes=[{'columns': ['month_start_date']}, {'columns': ['account_id', 'month_start_date'], 'unique': True}],
        meta={'insert_order_by': 'account_id'},
    )
}}
{%- set plan = monthly_build_plan() %}

with

balances as (
    select * from {{ ref('fct_deposit_balances_daily') }}
    {% if plan.since %}where business_date >= {{ plan.since }}{% endif %}
),

products as (
    select * from {{ ref('dim_product') }}
),

new_days as (
    select
        balances.account_id,
        date_trunc('month', balances.business_date)::date as month_start_date,
        balances.customer_id,
        balances.product_code,
        balances.product_family,
        sum(balances.balance_cny) as balance_day_sum_cny,
        coalesce(sum(round(
            balances.balance_cny * (products.ftp_rate_pct - balances.interest_rate_pct)
            / (100.0 * {{ var('days_in_year') }}), 8
        )) filter (where balances.product_family = 'deposit'), 0) as deposit_spread_cny,
        coalesce(sum(round(
            balances.balance_cny * {{ var('wealth_management_fee_rate_pct') }} / (100.0 * {{ var('days_in_year') }}), 8
        )) filter (where balances.product_family = 'wealth'), 0) as wealth_fee_income_cny,
        count(*) filter (where not balances.is_estimated) as delivered_balance_days,
        count(*) filter (where balances.is_estimated) as estimated_balance_days,
        bool_or(balances.balance_cny <> 0) as is_held,
        max(balances.business_date) as last_business_date,
        (array_agg(balances.balance_cny order by balances.business_date desc))[1] as last_balance_cny
    from balances
    left join products on balances.product_code = products.product_code
    group by
        balances.account_id,
        date_trunc('month', balances.business_date)::date,
        balances.customer_id,
        balances.product_code,
        balances.product_family
),
{%- if plan.adds_to_months %}

-- what the months hold before the new days
month_so_far as (
    select
        account_id,
        month_start_date,
        customer_id,
        product_code,
        product_family,
        balance_day_sum_cny,
        deposit_spread_cny,
        wealth_fee_income_cny,
        delivered_balance_days,
        estimated_balance_days,
        is_held,
        last_business_date,
        last_balance_cny
    from {{ this }}
    where month_start_date >= date_trunc('month', {{ plan.since }})::date
),
{%- endif %}

-- add the new days to what their month holds
final as (
    select
        account_id,
        month_start_date,
        (array_agg(customer_id order by last_business_date desc))[1] as customer_id,
        (array_agg(product_code order by last_business_date desc))[1] as product_code,
        (array_agg(product_family order by last_business_date desc))[1] as product_family,
        sum(balance_day_sum_cny) as balance_day_sum_cny,
        sum(deposit_spread_cny) as deposit_spread_cny,
        sum(wealth_fee_income_cny) as wealth_fee_income_cny,
        sum(delivered_balance_days)::integer as delivered_balance_days,
        sum(estimated_balance_days)::integer as estimated_balance_days,
        bool_or(is_held) as is_held,
        max(last_business_date) as last_business_date,
        (array_agg(last_balance_cny order by last_business_date desc))[1] as last_balance_cny,
        {{ newest_batch_id() }} as built_from_batch_id,
        {{ newest_business_date() }} as built_through_date
    from (
        select * from new_days
        {%- if plan.adds_to_months %}
        union all
        select * from month_so_far
        {%- endif %}
    ) as months
    group by account_id, month_start_date
)

select * from final
