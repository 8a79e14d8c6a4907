-- One row per month per segment per value tier: what the segments find that the pyramid does not.
-- The pyramid ranks customers by what they are worth this month; the segments group them by how they
-- bank. A tier spread over several segments holds customers the RM serves differently; a segment
-- spread over several tiers is a behaviour that pays off unevenly. The notebook and the branch report
-- read it.
-- Row security for BI: head office's alone (macro bi_row_security).
{{ config(post_hook="{{ bi_row_security() }}") }}
with

segments as (
    select * from {{ ref('customer_segments_monthly') }}
),

customer_value as (
    select * from {{ ref('customer_value_monthly') }}
),

customer_months as (
    select
        segments.month_start_date,
        segments.segment_id,
        segments.segment_name,
        segments.segment_name_zh,
        customer_value.value_tier,
        customer_value.current_value_cny,
        customer_value.daily_average_deposit_balance_cny + customer_value.daily_average_wealth_balance_cny
            as assets_under_management_cny,
        customer_value.daily_average_loan_balance_cny,
        segments.is_outlier
    from segments
    inner join customer_value
        on segments.customer_id = customer_value.customer_id
            and segments.month_start_date = customer_value.month_start_date
),

cells as (
    select
        month_start_date,
        segment_id,
        segment_name,
        segment_name_zh,
        value_tier,
        count(*) as customers,
        count(*) filter (where is_outlier) as outlier_customers,
        sum(current_value_cny) as current_value_cny,
        round(avg(current_value_cny), 2) as average_value_cny,
        sum(assets_under_management_cny) as assets_under_management_cny,
        sum(daily_average_loan_balance_cny) as loan_balance_cny
    from customer_months
    group by 1, 2, 3, 4, 5
),

final as (
    select
        month_start_date,
        segment_id,
        segment_name,
        segment_name_zh,
        value_tier,
        customers,
        round(customers::numeric / sum(customers) over (partition by month_start_date, segment_id), 4)
            as share_of_segment,
        round(customers::numeric / sum(customers) over (partition by month_start_date, value_tier), 4)
            as share_of_tier,
        outlier_customers,
        current_value_cny,
        average_value_cny,
        assets_under_management_cny,
        loan_balance_cny
    from cells
)

select * from final
