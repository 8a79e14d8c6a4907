-- One row per org_unit per business date on which it was delivered (masters are deltas:
-- each row is a version); the dimensions pick the latest or keep them all (SCD2).
with

source as (
    select * from {{ source('bank', 'org_units') }}
),

versions as (
    select
        *,
        row_number() over (partition by org_unit_id, business_date order by batch_id desc) as version_rank
    from source
),

final as (
    select
        org_unit_id,
        org_unit_name,
        org_level,
        nullif(parent_org_unit_id, '') as parent_org_unit_id,
        business_date as delivered_date
    from versions
    where version_rank = 1
)

select * from final
