with

source as (
    select * from {{ source('bank', 'relationship_managers') }}
),

latest as (
    select
        *,
        row_number() over (partition by rm_id order by business_date desc, batch_id desc) as version_rank
    from source
),

final as (
    select
        rm_id,
        rm_name,
        sub_branch_id,
        hired_date,
        business_date as delivered_date
    from latest
    where version_rank = 1
)

select * from final
