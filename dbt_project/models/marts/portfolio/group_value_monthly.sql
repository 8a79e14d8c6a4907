-- One row per customer group per month: value rolled up over the links between customers
-- (docs/value-model.md). Two kinds of group:
--   family_or_enterprise: the customers sharing a group_id on the month's last day;
--   referral: a customer who referred others, with the customers they referred (the referrer's own
--             figures are the anchor_* columns; members are the referred).
-- What a relationship is worth beyond one customer: the "influence" of a core customer.
{%- set since_month = first_changed_month() if is_incremental() else none %}

with

value_months as (
    select * from {{ ref('customer_value_monthly') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

links as (
    select
        month_start_date,
        'family_or_enterprise' as group_type,
        group_id as group_key,
        customer_id
    from value_months
    where group_id is not null
    union all
    select
        month_start_date,
        'referral' as group_type,
        referred_by_customer_id as group_key,
        customer_id
    from value_months
    where referred_by_customer_id is not null
),

groups as (
    select
        links.month_start_date,
        links.group_type,
        links.group_key,
        count(*) as member_customers,
        sum(members.current_value_cny) as member_value_cny,
        sum(members.trailing_12_month_value_cny) as member_trailing_12_month_value_cny,
        sum(members.daily_average_deposit_balance_cny + members.daily_average_wealth_balance_cny)
            as member_assets_under_management_cny,
        sum(members.daily_average_loan_balance_cny) as member_loans_cny,
        count(*) filter (where members.value_tier in ('platinum', 'gold')) as member_core_customers
    from links
    inner join value_months as members
        on links.customer_id = members.customer_id
            and links.month_start_date = members.month_start_date
    group by links.month_start_date, links.group_type, links.group_key
),

final as (
    select
        groups.*,
        case when groups.group_type = 'referral' then groups.group_key end as anchor_customer_id,
        anchor.current_value_cny as anchor_value_cny,
        anchor.value_tier as anchor_value_tier,
        groups.member_value_cny + coalesce(anchor.current_value_cny, 0) as group_value_cny,
        {{ newest_batch_id() }} as built_from_batch_id
    from groups
    left join value_months as anchor
        on groups.group_type = 'referral'
            and groups.group_key = anchor.customer_id
            and groups.month_start_date = anchor.month_start_date
)

select * from final
