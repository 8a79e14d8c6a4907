-- One row per customer segmented in the latest month segmented: their value figures and tier for the
-- month, their K-Means segment, and their RM and branch path. The RM reports read this.
with

segments as (
    select * from {{ ref('customer_segments_monthly') }}
),

customer_value as (
    select * from {{ ref('customer_value_monthly') }}
),

relationship_managers as (
    select * from {{ ref('dim_relationship_manager') }}
),

latest_month as (
    select max(month_start_date) as month_start_date from segments
),

latest_segments as (
    select segments.*
    from segments
    inner join latest_month on segments.month_start_date = latest_month.month_start_date
),

final as (
    select
        latest_segments.customer_id,
        latest_segments.month_start_date,
        customer_value.customer_type,
        customer_value.rm_id,
        relationship_managers.rm_name,
        relationship_managers.sub_branch_id,
        relationship_managers.sub_branch_name,
        relationship_managers.branch_name,
        customer_value.value_tier,
        customer_value.relationship_type,
        customer_value.value_rank,
        customer_value.current_value_cny,
        customer_value.daily_average_deposit_balance_cny,
        customer_value.daily_average_wealth_balance_cny,
        customer_value.daily_average_loan_balance_cny,
        customer_value.transaction_count,
        latest_segments.segment_id,
        latest_segments.segment_name,
        latest_segments.segment_name_zh,
        latest_segments.segment_profile,
        latest_segments.distance_to_centroid,
        latest_segments.is_outlier,
        latest_segments.run_id as segmentation_run_id
    from latest_segments
    inner join customer_value
        on latest_segments.customer_id = customer_value.customer_id
            and latest_segments.month_start_date = customer_value.month_start_date
    left join relationship_managers on customer_value.rm_id = relationship_managers.rm_id
)

select * from final
