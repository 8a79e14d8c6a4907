-- One row per customer per month segmented: the segment of the month's current run (its newest; a
-- re-run replaces a month's run in ml, so there is one unless a run was written by hand).
with

runs as (
    select * from {{ ref('stg_ml__segmentation_runs') }}
),

segments as (
    select * from {{ ref('stg_ml__customer_segments') }}
),

profiles as (
    select * from {{ ref('stg_ml__segment_profiles') }}
),

current_runs as (
    select distinct on (month_start_date)
        segmentation_run_id,
        month_start_date
    from runs
    -- distinct on needs its key first in the order by
    order by month_start_date asc, segmentation_run_at desc, segmentation_run_id desc  -- noqa: AM06
),

final as (
    select
        segments.customer_id,
        current_runs.month_start_date,
        segments.segment_id,
        profiles.segment_name,
        profiles.segment_name_zh,
        profiles.segment_profile,
        profiles.segment_profile_zh,
        segments.distance_to_centroid,
        segments.is_outlier,
        current_runs.segmentation_run_id
    from segments
    inner join current_runs on segments.segmentation_run_id = current_runs.segmentation_run_id
    inner join profiles
        on segments.segmentation_run_id = profiles.segmentation_run_id
            and segments.segment_id = profiles.segment_id
)

select * from final
