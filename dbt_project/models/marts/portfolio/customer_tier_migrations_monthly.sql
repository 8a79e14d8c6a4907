-- One row per customer per month in which they were valued (customer_value_monthly): the tier they
-- came from (the previous month's; 'unranked' in their first month or the first month of history)
-- and the tier they went to ('left' in the month the relationship closed), with the value change.
-- Row security for BI: the RM's and the branch's (macro bi_row_security).
{{ config(post_hook="{{ bi_row_security(rm_column='rm_id', branch_column='branch_id') }}") }}
{%- set since_month = first_changed_month() if is_incremental() else none %}

with

value_months as (
    select * from {{ ref('customer_value_monthly') }}
    -- the month before the first one rebuilt gives its from-tiers
    {% if since_month %}where month_start_date >= ({{ since_month }} - interval '1 month')::date{% endif %}
),

previous_month as (
    select
        customer_id,
        (month_start_date + interval '1 month')::date as month_start_date,
        value_tier,
        current_value_cny
    from value_months
),

branches as (
    select * from {{ ref('dim_branch') }}
),

tier_order as (
    select * from (values ('platinum', 1), ('gold', 2), ('iron', 3), ('lead', 4)) as tiers (value_tier, tier_order)
),

final as (
    select
        value_months.customer_id,
        value_months.month_start_date,
        value_months.rm_id,
        value_months.home_sub_branch_id,
        branches.branch_id,
        coalesce(previous_month.value_tier, 'unranked') as from_tier,
        case when value_months.is_closed_in_month then 'left' else value_months.value_tier end as to_tier,
        case
            when value_months.is_closed_in_month then 'left'
            when previous_month.value_tier is null then 'entered'
            when to_order.tier_order < from_order.tier_order then 'up'
            when to_order.tier_order > from_order.tier_order then 'down'
            else 'stayed'
        end as migration,
        previous_month.current_value_cny as previous_value_cny,
        value_months.current_value_cny,
        value_months.current_value_cny - coalesce(previous_month.current_value_cny, 0) as value_change_cny,
        {{ newest_batch_id() }} as built_from_batch_id
    from value_months
    left join previous_month
        on value_months.customer_id = previous_month.customer_id
            and value_months.month_start_date = previous_month.month_start_date
    left join branches on value_months.home_sub_branch_id = branches.sub_branch_id
    left join tier_order as from_order on previous_month.value_tier = from_order.value_tier
    left join tier_order as to_order on value_months.value_tier = to_order.value_tier
    {% if since_month %}where value_months.month_start_date >= {{ since_month }}{% endif %}
)

select * from final
