with

source as (
    select * from {{ source('bank', 'org_units') }}
),

latest as (
    select
        *,
        row_number() over (partition by org_unit_id order by business_date desc, batch_id desc) as version_rank
    from source
),

final as (
    select
        org_unit_id,
        org_unit_name,
        org_level,
        nullif(parent_org_unit_id, '') as parent_org_unit_id,
        business_date as delivered_date
    from latest
    where version_rank = 1
)

select * from final
