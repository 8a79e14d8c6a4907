-- One row per relationship manager, with the branch path of the sub-branch they work in.
with

relationship_managers as (
    {{ latest_version(ref('stg_bank__relationship_managers'), 'rm_id') }}
),

branches as (
    select * from {{ ref('dim_branch') }}
),

final as (
    select
        relationship_managers.rm_id,
        relationship_managers.rm_name,
        relationship_managers.hired_date,
        branches.sub_branch_id,
        branches.sub_branch_name,
        branches.branch_id,
        branches.branch_name
    from relationship_managers
    left join branches on relationship_managers.sub_branch_id = branches.sub_branch_id
)

select * from final
