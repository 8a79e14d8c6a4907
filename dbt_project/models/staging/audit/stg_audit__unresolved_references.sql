-- One row per business date, event file, referencing column and referenced key: events loaded
-- against a master record that had not been delivered (the loader's late-arriving registry).
with

source as (
    select * from {{ source('audit', 'unresolved_references') }}
),

final as (
    select
        business_date,
        replace(file_name, '.csv', '') as source_table,
        column_name,
        replace(referenced_file, '.csv', '') as referenced_table,
        referenced_key,
        rows_loaded,
        resolved_on_date,
        resolved_batch_id is not null as is_resolved
    from source
)

select * from final
