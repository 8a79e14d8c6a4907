-- One row per segment per segmentation run: its names, one-line profiles and outlier threshold.
with

source as (
    select * from {{ source('ml', 'segment_profiles') }}
),

final as (
    select
        run_id as segmentation_run_id,
        segment_id,
        segment_name,
        coalesce(segment_name_zh, segment_name) as segment_name_zh,
        profile as segment_profile,
        coalesce(profile_zh, profile) as segment_profile_zh,
        customers as segment_customers,
        outlier_threshold
    from source
)

select * from final
