-- One row per month per from-tier per to-tier that some customer took (customer_tier_migrations_monthly):
-- the pyramid's migration matrix, with how many customers moved and the value they took with them.
{%- set since_month = first_changed_month() if is_incremental() else none %}

with

migrations as (
    select * from {{ ref('customer_tier_migrations_monthly') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

final as (
    select
        month_start_date,
        from_tier,
        to_tier,
        migration,
        count(*) as customers,
        coalesce(sum(previous_value_cny), 0) as previous_value_cny,
        sum(current_value_cny) as current_value_cny,
        {{ newest_batch_id() }} as built_from_batch_id
    from migrations
    group by month_start_date, from_tier, to_tier, migration
)

select * from final
