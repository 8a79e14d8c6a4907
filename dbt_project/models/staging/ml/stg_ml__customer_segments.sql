-- One row per customer in the latest segmentation run.
with

runs as (
    select * from {{ source('ml', 'segmentation_runs') }}
),

segments as (
    select * from {{ source('ml', 'customer_segments') }}
),

profiles as (
    select * from {{ source('ml', 'segment_profiles') }}
),

latest_run as (
    select
        run_id,
        month_start_date
    from runs
    order by created_at desc, run_id desc
    limit 1
),

final as (
    select
        segments.customer_id,
        latest_run.run_id as segmentation_run_id,
        latest_run.month_start_date,
        segments.segment_id,
        profiles.segment_name,
        segments.distance_to_centroid,
        segments.is_outlier
    from segments
    inner join latest_run on segments.run_id = latest_run.run_id
    left join profiles on segments.run_id = profiles.run_id and segments.segment_id = profiles.segment_id
)

select * from final
