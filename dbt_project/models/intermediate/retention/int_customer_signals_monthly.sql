-- One row per customer per month valued (customer_value_monthly): what the warehouse knew of the
-- relationship at the month's last delivered day, for the lifecycle rules and the churn model
-- (docs/retention-model.md). Point in time: a month's row reads nothing after its last day, so
-- re-building an old month gives the same row.
--   month-end assets     = deposit and wealth balances on the month's last day (accounts still open)
--   prior 3 months       = the average over the up to three months before it that the warehouse holds
--   current accounts     = demand-deposit balances on the month's last day and 7 and 14 days before it
--                          (a customer who is leaving empties the current account first)
--   transaction days     = days with a customer-initiated transaction (the BG/NBD model's purchases)
--   complaint hours open = for each complaint opened in the month, the hours until it was resolved,
--                          or until the month's end if it was still open then
--   time deposits run off = time deposits that reached maturity and closed in the month (not rolled over)
-- Incremental by month, as the managers' marts: a run rebuilds the months from the first changed one.
{%- set since_month = first_changed_month() if is_incremental() else none %}

with

value_months as (
    select * from {{ ref('customer_value_monthly') }}
    -- the three months before the first one rebuilt give its prior averages
    {% if since_month %}where month_start_date >= ({{ since_month }} - interval '3 months')::date{% endif %}
),

deposit_balances as (
    select * from {{ ref('fct_deposit_balances_daily') }}
    {% if since_month %}where business_date >= ({{ since_month }} - 14){% endif %}
),

deposit_account_months as (
    select * from {{ ref('int_deposit_account_months') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

-- its own import (read once, so the planner sees the table's statistics, not a CTE's guess)
demand_deposit_accounts as (
    select account_id from {{ ref('dim_account') }}
    where product_type = 'demand_deposit'
),

transactions as (
    select * from {{ ref('fct_transactions') }}
    {% if since_month %}where business_date >= {{ since_month }}{% endif %}
),

interactions as (
    select * from {{ ref('fct_service_interactions') }}
    {% if since_month %}where business_date >= {{ since_month }}{% endif %}
),

customers as (
    select * from {{ ref('dim_customer') }}
    where is_current
),

dates as (
    select * from {{ ref('dim_date') }}
),

month_end_assets as (
    select
        deposit_account_months.customer_id,
        deposit_account_months.month_start_date,
        sum(deposit_account_months.last_balance_cny) as month_end_assets_cny
    from deposit_account_months
    inner join value_months
        on deposit_account_months.customer_id = value_months.customer_id
            and deposit_account_months.month_start_date = value_months.month_start_date
            and deposit_account_months.last_business_date = value_months.month_end_date
    group by 1, 2
),

-- the days the current-account signals read: each month's last day and 7 and 14 days before it (a
-- handful of dates: the balances of those days only, not every day of the months rebuilt)
signal_dates as (
    select distinct value_months.month_end_date - days_before.days as business_date
    from value_months
    cross join (values (0), (7), (14)) as days_before (days)
),

current_account_balances as (
    select
        deposit_balances.customer_id,
        deposit_balances.business_date,
        deposit_balances.balance_cny
    from deposit_balances
    inner join demand_deposit_accounts on deposit_balances.account_id = demand_deposit_accounts.account_id
    -- an array: the scan of the fact takes the dates (an IN (subquery) would be joined after it)
    where deposit_balances.business_date = any(array(select signal_dates.business_date from signal_dates))
),

current_accounts as (
    select
        value_months.customer_id,
        value_months.month_start_date,
        sum(current_account_balances.balance_cny) filter (
            where current_account_balances.business_date = value_months.month_end_date
        )
            as current_account_month_end_cny,
        sum(current_account_balances.balance_cny) filter (
            where current_account_balances.business_date = value_months.month_end_date - 7
        )
            as current_account_7_days_before_cny,
        sum(current_account_balances.balance_cny) filter (
            where current_account_balances.business_date = value_months.month_end_date - 14
        )
            as current_account_14_days_before_cny
    from value_months
    inner join current_account_balances
        on value_months.customer_id = current_account_balances.customer_id
            and current_account_balances.business_date in (
                value_months.month_end_date, value_months.month_end_date - 7, value_months.month_end_date - 14
            )
    group by 1, 2
),

activity as (
    select
        transactions.customer_id,
        dates.month_start_date,
        -- the distinct days as bits of the day of the month (at most 31 in a bigint): one pass over the
        -- month's transactions, not a sort of them per customer as count(distinct business_date) needs
        bit_count(bit_or(1::bigint << extract(day from transactions.business_date)::int)::bit(64))
            as transaction_days,
        count(*) filter (where transactions.business_date > dates.month_end_date - 7) as transactions_last_7_days,
        min(transactions.business_date) as first_transaction_date,
        max(transactions.business_date) as last_transaction_date
    from transactions
    -- the month and its end as value_months has them (dim_date's), joined by date: a hash of the calendar
    inner join dates on transactions.business_date = dates.date_day
    where transactions.channel <> 'system'
    group by 1, 2
),

complaints as (
    select
        interactions.customer_id,
        date_trunc('month', interactions.business_date)::date as month_start_date,
        count(*) as complaints_opened,
        count(*) filter (where interactions.resolved_at > value_months.month_end_date + 1)
            as complaints_open_at_month_end,
        round(sum(extract(
            epoch from
            least(interactions.resolved_at, (value_months.month_end_date + 1)::timestamp) - interactions.opened_at
        ) / 3600.0), 2) as complaint_hours_open
    from interactions
    inner join value_months
        on interactions.customer_id = value_months.customer_id
            and date_trunc('month', interactions.business_date)::date = value_months.month_start_date
    where interactions.is_complaint
    group by 1, 2
),

time_deposit_run_off as (
    select
        customer_id,
        date_trunc('month', closed_date)::date as month_start_date,
        count(*) as time_deposits_run_off
    from accounts
    where product_type = 'time_deposit' and closed_date is not null and closed_date >= maturity_date
    group by 1, 2
),

with_history as (
    select
        value_months.*,
        value_months.daily_average_deposit_balance_cny + value_months.daily_average_wealth_balance_cny
            as assets_under_management_cny,
        count(*) over prior_months as prior_months_held,
        avg(value_months.daily_average_deposit_balance_cny + value_months.daily_average_wealth_balance_cny)
            over prior_months as prior_3_month_average_assets_cny,
        avg(value_months.transaction_count) over prior_months as prior_3_month_average_transactions,
        avg(value_months.current_value_cny) over prior_months as prior_3_month_average_value_cny
    from value_months
    window prior_months as (
        partition by value_months.customer_id order by value_months.month_start_date
        range between interval '3 months' preceding and interval '1 day' preceding
    )
),

final as (
    select
        with_history.customer_id,
        with_history.month_start_date,
        with_history.month_end_date,
        with_history.is_complete_month,
        with_history.is_closed_in_month,
        with_history.rm_id,
        with_history.value_tier,
        with_history.current_value_cny,
        with_history.trailing_12_month_value_cny,
        with_history.trailing_months_covered,
        with_history.accounts_held,
        with_history.worst_classification_rank,
        with_history.month_end_date - customers.onboarding_date as tenure_days,
        with_history.assets_under_management_cny,
        coalesce(month_end_assets.month_end_assets_cny, 0) as month_end_assets_cny,
        with_history.daily_average_loan_balance_cny,
        coalesce(current_accounts.current_account_month_end_cny, 0) as current_account_month_end_cny,
        current_accounts.current_account_7_days_before_cny,
        current_accounts.current_account_14_days_before_cny,
        with_history.transaction_count,
        coalesce(activity.transaction_days, 0) as transaction_days,
        coalesce(activity.transactions_last_7_days, 0) as transactions_last_7_days,
        activity.first_transaction_date,
        activity.last_transaction_date,
        with_history.prior_months_held,
        round(with_history.prior_3_month_average_assets_cny, 2) as prior_3_month_average_assets_cny,
        round(with_history.prior_3_month_average_transactions, 2) as prior_3_month_average_transactions,
        round(with_history.prior_3_month_average_value_cny, 2) as prior_3_month_average_value_cny,
        coalesce(complaints.complaints_opened, 0) as complaints_opened,
        coalesce(complaints.complaints_open_at_month_end, 0) as complaints_open_at_month_end,
        coalesce(complaints.complaint_hours_open, 0) as complaint_hours_open,
        coalesce(time_deposit_run_off.time_deposits_run_off, 0) as time_deposits_run_off,
        {{ newest_batch_id() }} as built_from_batch_id
    from with_history
    left join customers on with_history.customer_id = customers.customer_id
    left join month_end_assets
        on with_history.customer_id = month_end_assets.customer_id
            and with_history.month_start_date = month_end_assets.month_start_date
    left join current_accounts
        on with_history.customer_id = current_accounts.customer_id
            and with_history.month_start_date = current_accounts.month_start_date
    left join activity
        on with_history.customer_id = activity.customer_id
            and with_history.month_start_date = activity.month_start_date
    left join complaints
        on with_history.customer_id = complaints.customer_id
            and with_history.month_start_date = complaints.month_start_date
    left join time_deposit_run_off
        on with_history.customer_id = time_deposit_run_off.customer_id
            and with_history.month_start_date = time_deposit_run_off.month_start_date
    {% if since_month %}where with_history.month_start_date >= {{ since_month }}{% endif %}
)

select * from final
