-- One row per customer per month segmented: the customer's K-Means segment in the month's current
-- run, its names and profile in English and Chinese, and whether the customer is an outlier (further
-- from the centroid than the segment's threshold). Customers closed in or before the month are not
-- segmented. Rebuilt from the first month with a new run.
{%- set since_month = first_resegmented_month('run_id') if is_incremental() else none %}

with

segments as (
    select * from {{ ref('int_customer_segments_monthly') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

final as (
    select
        customer_id,
        month_start_date,
        segment_id,
        segment_name,
        segment_name_zh,
        segment_profile,
        segment_profile_zh,
        distance_to_centroid,
        is_outlier,
        segmentation_run_id as run_id
    from segments
)

select * from final
