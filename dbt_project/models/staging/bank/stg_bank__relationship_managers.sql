-- One row per rm per business date on which it was delivered (masters are deltas:
-- each row is a version); the dimensions pick the latest or keep them all (SCD2).
with

source as (
    select * from {{ source('bank', 'relationship_managers') }}
),

versions as (
    select
        *,
        row_number() over (partition by rm_id, business_date order by batch_id desc) as version_rank
    from source
),

final as (
    select
        rm_id,
        rm_name,
        sub_branch_id,
        hired_date,
        business_date as delivered_date
    from versions
    where version_rank = 1
)

select * from final
