-- One row per K-Means segmentation run (ml/segmentation.py), every month and every re-run.
with

source as (
    select * from {{ source('ml', 'segmentation_runs') }}
),

final as (
    select
        run_id as segmentation_run_id,
        month_start_date,
        created_at as segmentation_run_at,
        customers,
        clusters,
        preprocessing,
        silhouette,
        random_state
    from source
)

select * from final
