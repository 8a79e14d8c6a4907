-- One row per sub-branch, with its branch and head office (the organisation hierarchy).
with

org_units as (
    {{ latest_version(ref('stg_bank__org_units'), 'org_unit_id') }}
),

sub_branches as (
    select * from org_units
    where org_level = 'sub_branch'
),

final as (
    select
        sub_branches.org_unit_id as sub_branch_id,
        sub_branches.org_unit_name as sub_branch_name,
        branches.org_unit_id as branch_id,
        branches.org_unit_name as branch_name,
        head_office.org_unit_id as head_office_id,
        head_office.org_unit_name as head_office_name
    from sub_branches
    left join org_units as branches on sub_branches.parent_org_unit_id = branches.org_unit_id
    left join org_units as head_office on branches.parent_org_unit_id = head_office.org_unit_id
)

select * from final
