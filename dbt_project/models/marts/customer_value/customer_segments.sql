-- One row per customer in the latest segmentation run: their value figures and tier for the
-- run's month, their K-Means segment, and their RM and branch path. The RM reports read this.
with

segments as (
    select * from {{ ref('stg_ml__customer_segments') }}
),

customer_value as (
    select * from {{ ref('customer_value_monthly') }}
),

relationship_managers as (
    select * from {{ ref('dim_relationship_manager') }}
),

final as (
    select
        segments.customer_id,
        segments.month_start_date,
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
        segments.segment_id,
        segments.segment_name,
        segments.distance_to_centroid,
        segments.is_outlier,
        segments.segmentation_run_id
    from segments
    inner join customer_value
        on segments.customer_id = customer_value.customer_id
            and segments.month_start_date = customer_value.month_start_date
    left join relationship_managers on customer_value.rm_id = relationship_managers.rm_id
)

select * from final
