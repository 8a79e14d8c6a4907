-- One row per month per (segment last month, segment this month) pair, for every month whose previous
-- month was segmented too: how many customers stayed in their segment, moved to another, joined (not
-- segmented last month: new, or valued again) or left (segmented last month, not this one: closed or
-- no longer valued). Segment ids are kept month to month (ml/segmentation.py), so "stayed" means the
-- same customer type.
with

segments as (
    select * from {{ ref('customer_segments_monthly') }}
),

-- the months that have a segmented month before them
month_pairs as (
    select distinct segments.month_start_date
    from segments
    where exists (
            select 1 from segments as before
            where before.month_start_date = (segments.month_start_date - interval '1 month')::date
        )
),

-- last month's segment, dated the month after
last_month as (
    select
        customer_id,
        (month_start_date + interval '1 month')::date as month_start_date,
        segment_id,
        segment_name
    from segments
),

movements as (
    select
        month_pairs.month_start_date,
        last_month.segment_id as from_segment_id,
        last_month.segment_name as from_segment_name,
        this_month.segment_id as to_segment_id,
        this_month.segment_name as to_segment_name
    from segments as this_month
    full outer join last_month
        on this_month.customer_id = last_month.customer_id
            and this_month.month_start_date = last_month.month_start_date
    inner join month_pairs
        on coalesce(this_month.month_start_date, last_month.month_start_date) = month_pairs.month_start_date
),

final as (
    select
        month_start_date,
        coalesce(from_segment_id::text, 'none') || '>' || coalesce(to_segment_id::text, 'none') as migration_key,
        from_segment_id,
        from_segment_name,
        to_segment_id,
        to_segment_name,
        case
            when from_segment_id is null then 'joined'
            when to_segment_id is null then 'left'
            when from_segment_id = to_segment_id then 'stayed'
            else 'moved'
        end as movement,
        count(*) as customers
    from movements
    group by 1, 2, 3, 4, 5, 6, 7
)

select * from final
