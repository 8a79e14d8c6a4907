-- One row per customer per segmentation run: the segment K-Means put the customer in.
with

source as (
    select * from {{ source('ml', 'customer_segments') }}
),

final as (
    select
        run_id as segmentation_run_id,
        customer_id,
        segment_id,
        distance_to_centroid,
        is_outlier
    from source
)

select * from final
