-- One row per segment, tier and month (marts.segments_vs_tiers_monthly): the whole bank's customers
-- by K-Means segment and value tier, with the segment profiles' figures. Head office only (an RM
-- or a branch manager reads their own customers' segments in bi.customer_monthly).
{{ config(alias='segments_vs_tiers_monthly') }}
with

cells as (
    select * from {{ ref('segments_vs_tiers_monthly') }}
),

final as (
    select
        cells.month_start_date,
        cells.segment_id,
        cells.segment_name,
        cells.segment_name_zh,
        cells.value_tier,
        cells.customers,
        cells.share_of_segment,
        cells.share_of_tier,
        cells.outlier_customers,
        cells.current_value_cny,
        cells.average_value_cny,
        cells.assets_under_management_cny,
        cells.loan_balance_cny
    from cells
)

select * from final
