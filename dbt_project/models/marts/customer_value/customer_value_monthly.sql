-- One row per customer per month in which the customer was active (onboarded by the month's end,
-- not closed before its start): the value figures, the pyramid tier and the relationship type.
-- The RM and home sub-branch are the customer's as of the month's last day. A month in which some
-- account-day's balance was missing and carried forward is flagged is_estimated.
-- Incremental by month: a run rebuilds the months from the first one with new business dates
-- (ranks and tiers are within a month, so a month is always rebuilt whole).
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='month_start_date',
        on_schema_change='append_new_columns',
        meta={'insert_order_by': 'customer_id'},
        indexes=[{'columns': ['month_start_date']}, {'columns': ['customer_id', 'month_start_date'], 'unique': True}],
    )
}}

with

customers as (
    select * from {{ ref('dim_customer') }}
),

dates as (
    select * from {{ ref('dim_date') }}
),

valued as (
    select * from {{ ref('int_customer_months_valued') }}
),

months as (
    select
        month_start_date,
        max(month_end_date) as month_end_date,
        max(days_in_month) as days_in_month,
        count(*) as days_delivered
    from dates
    {% if is_incremental() %}
        where month_start_date >= {{ first_changed_month() }}
    {% endif %}
    group by 1
),

current_customers as (
    select * from customers
    where is_current
),

customer_months as (
    select
        current_customers.customer_id,
        current_customers.customer_type,
        month_end_version.rm_id,
        month_end_version.home_sub_branch_id,
        months.month_start_date,
        months.month_end_date,
        months.days_delivered,
        months.days_delivered = months.days_in_month as is_complete_month
    from current_customers
    inner join months
        on current_customers.onboarding_date <= months.month_end_date
            and (current_customers.closed_date is null or current_customers.closed_date >= months.month_start_date)
    left join customers as month_end_version
        on current_customers.customer_id = month_end_version.customer_id
            and {{ as_of('month_end_version', 'months.month_end_date') }}
),

figures as (
    select
        customer_months.*,
        round(coalesce(valued.deposit_balance_day_sum_cny, 0) / customer_months.days_delivered, 2)
            as daily_average_deposit_balance_cny,
        round(coalesce(valued.wealth_balance_day_sum_cny, 0) / customer_months.days_delivered, 2)
            as daily_average_wealth_balance_cny,
        round(coalesce(valued.loan_balance_day_sum_cny, 0) / customer_months.days_delivered, 2)
            as daily_average_loan_balance_cny,
        coalesce(valued.transaction_count, 0) as transaction_count,
        coalesce(valued.digital_transaction_count, 0) as digital_transaction_count,
        coalesce(valued.accounts_held, 0) as accounts_held,
        coalesce(valued.delivered_balance_days, 0) as delivered_balance_days,
        coalesce(valued.estimated_balance_days, 0) as estimated_balance_days,
        coalesce(valued.estimated_balance_days, 0) > 0 as is_estimated,
        valued.worst_classification_rank,
        round(coalesce(valued.deposit_spread_cny, 0), 2) as deposit_spread_cny,
        round(coalesce(valued.wealth_fee_income_cny, 0), 2) as wealth_fee_income_cny,
        round(coalesce(valued.loan_spread_cny, 0), 2) as loan_spread_cny,
        round(coalesce(valued.expected_credit_loss_cny, 0), 2) as expected_credit_loss_cny,
        round(coalesce(valued.fee_income_cny, 0), 2) as fee_income_cny,
        round(coalesce(valued.cost_to_serve_cny, 0), 2) as cost_to_serve_cny
    from customer_months
    left join valued
        on customer_months.customer_id = valued.customer_id
            and customer_months.month_start_date = valued.month_start_date
),

valued_months as (
    select
        *,
        deposit_spread_cny + wealth_fee_income_cny + loan_spread_cny - expected_credit_loss_cny
        + fee_income_cny - cost_to_serve_cny as current_value_cny
    from figures
),

ranked as (
    select
        *,
        row_number() over (partition by month_start_date order by current_value_cny desc, customer_id asc)
            as value_rank,
        count(*) over (partition by month_start_date) as customers_in_month
    from valued_months
),

tiered as (
    select
        customer_id,
        month_start_date,
        month_end_date,
        is_complete_month,
        days_delivered,
        customer_type,
        rm_id,
        home_sub_branch_id,
        daily_average_deposit_balance_cny,
        daily_average_wealth_balance_cny,
        daily_average_loan_balance_cny,
        transaction_count,
        digital_transaction_count,
        accounts_held,
        delivered_balance_days,
        estimated_balance_days,
        is_estimated,
        worst_classification_rank,
        deposit_spread_cny,
        wealth_fee_income_cny,
        loan_spread_cny,
        expected_credit_loss_cny,
        fee_income_cny,
        cost_to_serve_cny,
        current_value_cny,
        value_rank,
        case
            when value_rank <= ceil(customers_in_month * {{ var('value_tier_cut_platinum') }}) then 'platinum'
            when value_rank <= ceil(customers_in_month * {{ var('value_tier_cut_gold') }}) then 'gold'
            when value_rank <= ceil(customers_in_month * {{ var('value_tier_cut_iron') }}) then 'iron'
            else 'lead'
        end as value_tier
    from ranked
),

final as (
    select
        *,
        {{ newest_batch_id() }} as built_from_batch_id,
        case value_tier
            when 'platinum' then 'partnership'
            when 'gold' then 'proactive'
            when 'iron' then 'accountable'
            else 'reactive'
        end as relationship_type
    from tiered
)

select * from final
