-- One row per calendar date from the first to the last delivered business date.
with

delivered as (
    select
        min(business_date) as first_date,
        max(business_date) as last_date
    from {{ ref('stg_audit__control_totals') }}
),

calendar as (
    select generate_series(first_date, last_date, interval '1 day')::date as date_day
    from delivered
),

final as (
    select
        date_day,
        extract(year from date_day)::integer as year_number,
        extract(month from date_day)::integer as month_number,
        extract(day from date_day)::integer as day_of_month,
        extract(isodow from date_day)::integer as iso_day_of_week,
        date_trunc('month', date_day)::date as month_start_date,
        (date_trunc('month', date_day) + interval '1 month - 1 day')::date as month_end_date,
        extract(day from date_trunc('month', date_day) + interval '1 month - 1 day')::integer as days_in_month,
        date_day = (date_trunc('month', date_day) + interval '1 month - 1 day')::date as is_month_end,
        extract(isodow from date_day) < 6 as is_business_day
    from calendar
)

select * from final
