-- One row per channel per branch per month: the transactions made through each channel by the
-- customers whose home sub-branch is in the branch on the month's last day, the fees they brought and
-- what serving them cost (seed cost_to_serve; docs/value-model.md).
-- Row security for BI: the branch's (macro bi_row_security).
{{ config(post_hook="{{ bi_row_security(branch_column='branch_id') }}") }}
{%- set since_month = first_changed_month() if is_incremental() else none %}

with

channel_months as (
    select * from {{ ref('int_customer_channel_months') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

value_months as (
    select * from {{ ref('customer_value_monthly') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

branches as (
    select * from {{ ref('dim_branch') }}
),

final as (
    select
        channel_months.month_start_date,
        branches.branch_id,
        channel_months.channel,
        sum(channel_months.transaction_count) as transaction_count,
        count(distinct channel_months.customer_id) as customers,
        sum(channel_months.transaction_amount_cny) as transaction_amount_cny,
        round(sum(channel_months.fee_income_cny), 2) as fee_income_cny,
        round(sum(channel_months.transaction_cost_cny), 2) as cost_to_serve_cny,
        round(sum(channel_months.fee_income_cny) - sum(channel_months.transaction_cost_cny), 2) as contribution_cny,
        {{ newest_batch_id() }} as built_from_batch_id
    from channel_months
    inner join value_months
        on channel_months.customer_id = value_months.customer_id
            and channel_months.month_start_date = value_months.month_start_date
    left join branches on value_months.home_sub_branch_id = branches.sub_branch_id
    group by channel_months.month_start_date, branches.branch_id, channel_months.channel
)

select * from final
