-- One row per source file per business date: what the control file said was delivered.
with

source as (
    select * from {{ source('audit', 'control_totals') }}
),

final as (
    select
        business_date,
        replace(file_name, '.csv', '') as source_table,
        row_count,
        amount_total as amount_total_cny
    from source
)

select * from final
