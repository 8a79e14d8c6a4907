-- One row per portfolio per month: each RM's book (the customers assigned to them on the month's last
-- day), each sub-branch's and branch's (customers by home sub-branch) and the whole bank's. What the
-- people who manage the book read: customers, AUM, loans, value, the tier mix, the migrations and
-- the value at risk (customer_retention_monthly). Rebuilt from the first month with new business
-- dates or a newer churn model.
{%- set since_month = 'least(' ~ first_changed_month() ~ ', ' ~ first_rescored_month() ~ ')'
    if is_incremental() else none %}

with

value_months as (
    select * from {{ ref('customer_value_monthly') }}
    -- the month before the first one rebuilt gives its value change
    {% if since_month %}where month_start_date >= ({{ since_month }} - interval '1 month')::date{% endif %}
),

migrations as (
    select * from {{ ref('customer_tier_migrations_monthly') }}
    {% if since_month %}where month_start_date >= ({{ since_month }} - interval '1 month')::date{% endif %}
),

retention as (
    select * from {{ ref('customer_retention_monthly') }}
    {% if since_month %}where month_start_date >= ({{ since_month }} - interval '1 month')::date{% endif %}
),

branches as (
    select * from {{ ref('dim_branch') }}
),

portfolios as (
    select
        value_months.month_start_date,
        case
            when grouping(value_months.rm_id) = 0 then 'rm'
            when grouping(value_months.home_sub_branch_id) = 0 then 'sub_branch'
            when grouping(branches.branch_id) = 0 then 'branch'
            else 'bank'
        end as portfolio_level,
        case
            when grouping(value_months.rm_id) = 0 then coalesce(value_months.rm_id, 'unassigned')
            when grouping(value_months.home_sub_branch_id) = 0
                then coalesce(value_months.home_sub_branch_id, 'unassigned')
            when grouping(branches.branch_id) = 0 then coalesce(branches.branch_id, 'unassigned')
            else 'bank'
        end as portfolio_id,
        count(*) as customers,
        sum(value_months.daily_average_deposit_balance_cny + value_months.daily_average_wealth_balance_cny)
            as assets_under_management_cny,
        sum(value_months.daily_average_loan_balance_cny) as loans_cny,
        sum(value_months.current_value_cny) as current_value_cny,
        sum(value_months.trailing_12_month_value_cny) as trailing_12_month_value_cny,
        sum(value_months.credit_cost_cny) as credit_cost_cny,
        count(*) filter (where value_months.value_tier = 'platinum') as platinum_customers,
        count(*) filter (where value_months.value_tier = 'gold') as gold_customers,
        count(*) filter (where value_months.value_tier = 'iron') as iron_customers,
        count(*) filter (where value_months.value_tier = 'lead') as lead_customers,
        count(*) filter (where value_months.current_value_cny <= 0) as value_destroying_customers,
        count(*) filter (where migrations.migration = 'up') as customers_moved_up,
        count(*) filter (where migrations.migration = 'down') as customers_moved_down,
        count(*) filter (where migrations.migration = 'entered') as customers_entered,
        count(*) filter (where migrations.migration = 'left') as customers_left,
        count(*) filter (where retention.is_at_risk) as customers_at_risk,
        coalesce(sum(retention.value_at_risk_cny), 0) as value_at_risk_cny,
        coalesce(sum(retention.value_at_risk_cny) filter (where retention.retention_priority = 'win_back'), 0)
            as win_back_value_at_risk_cny,
        sum(retention.potential_value_cny) as potential_value_cny,
        max(retention.churn_model_id) as churn_model_id
    from value_months
    inner join migrations
        on value_months.customer_id = migrations.customer_id
            and value_months.month_start_date = migrations.month_start_date
    left join retention
        on value_months.customer_id = retention.customer_id
            and value_months.month_start_date = retention.month_start_date
    left join branches on value_months.home_sub_branch_id = branches.sub_branch_id
    group by grouping sets (
        (value_months.month_start_date, value_months.rm_id),
        (value_months.month_start_date, value_months.home_sub_branch_id),
        (value_months.month_start_date, branches.branch_id),
        (value_months.month_start_date)
    )
),

changes as (
    select
        *,
        current_value_cny - lag(current_value_cny) over (
            partition by portfolio_level, portfolio_id order by month_start_date
        ) as value_change_cny,
        {{ newest_batch_id() }} as built_from_batch_id
    from portfolios
),

final as (
    select * from changes
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
)

select * from final
