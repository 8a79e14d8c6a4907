-- One row per customer per month (marts.customer_tier_migrations_monthly): the tier a customer came
-- from and went to since last month, for the month-over-month migration matrix. Row scope as
-- bi.customer_monthly (the branch is the home sub-branch's), by the mart's row security.
{{ config(alias='tier_migrations_monthly') }}
with

migrations as (
    select * from {{ ref('customer_tier_migrations_monthly') }}
),

final as (
    select
        migrations.month_start_date,
        migrations.customer_id,
        migrations.rm_id,
        migrations.home_sub_branch_id as sub_branch_id,
        migrations.branch_id,
        migrations.from_tier,
        migrations.to_tier,
        migrations.migration,
        migrations.previous_value_cny,
        migrations.current_value_cny,
        migrations.value_change_cny
    from migrations
)

select * from final
