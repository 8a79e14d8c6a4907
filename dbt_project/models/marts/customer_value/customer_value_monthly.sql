-- One row per customer per month in which the customer was active (onboarded by the month's end, not
-- closed before its start; the month they close in is the last, is_closed_in_month): the value
-- figures (int_customer_months_valued), the trailing-12-month value, the pyramid tier and the
-- relationship type (docs/value-model.md). The RM, home sub-branch and group are the customer's as
-- of the month's last day. Tiers: customers ranked by current value within the month (ties by
-- customer id); the cut points (vars value_tier_cut_*) are shares of the month's customers; a
-- customer whose value is <= 0 is lead whatever the cut points say.
-- Incremental by month: a run rebuilds the months from the first one with new business dates.
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
{%- set since_month = first_changed_month() if is_incremental() else none %}

with

customers as (
    select * from {{ ref('dim_customer') }}
),

dates as (
    select * from {{ ref('dim_date') }}
),

valued as (
    select * from {{ ref('int_customer_months_valued') }}
    -- the trailing 12 months of the first month rebuilt start 11 months before it
    {% if since_month %}where month_start_date >= ({{ since_month }} - interval '11 months')::date{% endif %}
),

history as (
    select min(month_start_date) as first_month_start_date from dates
),

months as (
    select
        month_start_date,
        max(month_end_date) as month_end_date,
        max(days_in_month) as days_in_month,
        count(*) as days_delivered
    from dates
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
    group by 1
),

customer_months as (
    select
        current_customers.customer_id,
        current_customers.customer_type,
        month_end_version.rm_id,
        month_end_version.home_sub_branch_id,
        month_end_version.group_id,
        month_end_version.referred_by_customer_id,
        months.month_start_date,
        months.month_end_date,
        months.days_delivered,
        months.days_delivered = months.days_in_month as is_complete_month,
        coalesce(current_customers.closed_date <= months.month_end_date, false) as is_closed_in_month,
        -- months of the trailing window inside both the warehouse's history and the relationship
        least(12, 1 + (
            extract(year from age(months.month_start_date, greatest(
                history.first_month_start_date, date_trunc('month', current_customers.onboarding_date)::date
            ))) * 12
            + extract(month from age(months.month_start_date, greatest(
                history.first_month_start_date, date_trunc('month', current_customers.onboarding_date)::date
            )))
        ))::integer as trailing_months_covered
    from customers as current_customers
    cross join history
    inner join months
        on current_customers.onboarding_date <= months.month_end_date
            and (current_customers.closed_date is null or current_customers.closed_date >= months.month_start_date)
    left join customers as month_end_version
        on current_customers.customer_id = month_end_version.customer_id
            and {{ as_of('month_end_version', 'months.month_end_date') }}
    where current_customers.is_current
),

trailing_values as (
    select
        customer_months.customer_id,
        customer_months.month_start_date,
        coalesce(sum(valued.current_value_cny), 0) as trailing_12_month_value_cny
    from customer_months
    left join valued
        on customer_months.customer_id = valued.customer_id
            and valued.month_start_date between (customer_months.month_start_date - interval '11 months')::date
            and customer_months.month_start_date
    group by 1, 2
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
        coalesce(valued.non_accrual_days, 0) as non_accrual_days,
        coalesce(valued.deposit_spread_cny, 0) as deposit_spread_cny,
        coalesce(valued.wealth_fee_income_cny, 0) as wealth_fee_income_cny,
        coalesce(valued.loan_spread_cny, 0) as loan_spread_cny,
        coalesce(valued.provision_change_cny, 0) as provision_change_cny,
        coalesce(valued.write_off_cny, 0) as write_off_cny,
        coalesce(valued.credit_cost_cny, 0) as credit_cost_cny,
        coalesce(valued.closing_provision_cny, 0) as loan_loss_provision_cny,
        coalesce(valued.fee_income_cny, 0) as fee_income_cny,
        coalesce(valued.cost_to_serve_cny, 0) as cost_to_serve_cny,
        coalesce(valued.current_value_cny, 0) as current_value_cny,
        trailing_values.trailing_12_month_value_cny,
        customer_months.trailing_months_covered = 12 as is_trailing_12_months_complete
    from customer_months
    left join valued
        on customer_months.customer_id = valued.customer_id
            and customer_months.month_start_date = valued.month_start_date
    left join trailing_values
        on customer_months.customer_id = trailing_values.customer_id
            and customer_months.month_start_date = trailing_values.month_start_date
),

ranked as (
    select
        *,
        row_number() over (partition by month_start_date order by current_value_cny desc, customer_id asc)
            as value_rank,
        count(*) over (partition by month_start_date) as customers_in_month
    from figures
),

tiered as (
    select
        customer_id,
        month_start_date,
        month_end_date,
        is_complete_month,
        days_delivered,
        is_closed_in_month,
        customer_type,
        rm_id,
        home_sub_branch_id,
        group_id,
        referred_by_customer_id,
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
        non_accrual_days,
        deposit_spread_cny,
        wealth_fee_income_cny,
        loan_spread_cny,
        provision_change_cny,
        write_off_cny,
        credit_cost_cny,
        loan_loss_provision_cny,
        fee_income_cny,
        cost_to_serve_cny,
        current_value_cny,
        trailing_12_month_value_cny,
        trailing_months_covered,
        is_trailing_12_months_complete,
        value_rank,
        case
            when current_value_cny <= 0 then 'lead'
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
        case value_tier
            when 'platinum' then 'partnership'
            when 'gold' then 'proactive'
            when 'iron' then 'accountable'
            else 'reactive'
        end as relationship_type,
        {{ newest_batch_id() }} as built_from_batch_id
    from tiered
)

select * from final
