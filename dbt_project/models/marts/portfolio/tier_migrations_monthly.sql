-- One row per month per from-tier per to-tier that some customer took (customer_tier_migrations_monthly):
-- the pyramid's migration matrix, with how many customers moved and the value they took with them.
with

migrations as (
    select * from {{ ref('customer_tier_migrations_monthly') }}
),

final as (
    select
        month_start_date,
        from_tier,
        to_tier,
        migration,
        count(*) as customers,
        coalesce(sum(previous_value_cny), 0) as previous_value_cny,
        sum(current_value_cny) as current_value_cny
    from migrations
    group by month_start_date, from_tier, to_tier, migration
)

select * from final
