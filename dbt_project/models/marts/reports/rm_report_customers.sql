-- One row per customer per month valued, with everything an RM's monthly report shows about them:
-- value and tier, where they came from in the pyramid, their segment, churn risk with its reasons
-- and the next best action, lifetime and potential value, open complaints at the month's end, and
-- their place on the RM's call list. Customers closed in the month are kept (is_in_book false: the
-- report lists them under "left"). The reports read this and nothing else about customers.
-- Incremental by month: a run rebuilds the months from the first one with new business dates, a
-- newer churn model or a new segmentation run.
-- Row security for BI: the RM's and the branch's (macro bi_row_security).
{{ config(post_hook="{{ bi_row_security(rm_column='rm_id', branch_column='branch_id') }}") }}
{%- set since_month = 'least(' ~ first_changed_month() ~ ', ' ~ first_rescored_month() ~ ', '
    ~ first_resegmented_month() ~ ')' if is_incremental() else none %}

with

-- not materialized: read twice (complaints, joined), it would otherwise be written out without statistics
value_months as not materialized (
    select * from {{ ref('customer_value_monthly') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

migrations as (
    select * from {{ ref('customer_tier_migrations_monthly') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

retention as (
    select * from {{ ref('customer_retention_monthly') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

-- last month's risk, for the risk saved or lost (read from the month before the first rebuilt)
risk_last_month as (
    select
        customer_id,
        (month_start_date + interval '1 month')::date as month_start_date,
        is_at_risk,
        value_at_risk_cny
    from {{ ref('customer_retention_monthly') }}
    {% if since_month %}where month_start_date >= ({{ since_month }} - interval '1 month')::date{% endif %}
),

segments as (
    select * from {{ ref('customer_segments_monthly') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

customers as (
    select * from {{ ref('dim_customer') }}
    where is_current
),

relationship_managers as (
    select * from {{ ref('dim_relationship_manager') }}
),

branches as (
    select * from {{ ref('dim_branch') }}
),

complaints as (
    select * from {{ ref('fct_service_interactions') }}
    where is_complaint
),

-- complaints open on the month's last day: opened by then, not resolved by then
open_complaints as (
    select
        value_months.customer_id,
        value_months.month_start_date,
        count(*) as open_complaints,
        max(value_months.month_end_date - complaints.opened_at::date) as oldest_open_complaint_days
    from value_months
    inner join complaints
        on value_months.customer_id = complaints.customer_id
            and complaints.opened_at::date <= value_months.month_end_date
            and (complaints.resolved_at is null or complaints.resolved_at::date > value_months.month_end_date)
    group by 1, 2
),

joined as (
    select
        value_months.month_start_date,
        value_months.month_end_date,
        value_months.customer_id,
        customers.full_name as customer_name,
        value_months.customer_type,
        not value_months.is_closed_in_month as is_in_book,
        coalesce(value_months.rm_id, 'unassigned') as rm_id,
        relationship_managers.rm_name,
        value_months.home_sub_branch_id as sub_branch_id,
        branches.sub_branch_name,
        coalesce(branches.branch_id, 'unassigned') as branch_id,
        branches.branch_name,
        value_months.value_tier,
        migrations.from_tier,
        migrations.migration,
        value_months.value_rank,
        value_months.relationship_type,
        retention.lifecycle_stage,
        value_months.current_value_cny,
        value_months.trailing_12_month_value_cny,
        value_months.daily_average_deposit_balance_cny + value_months.daily_average_wealth_balance_cny
            as assets_under_management_cny,
        value_months.daily_average_loan_balance_cny as loans_cny,
        value_months.transaction_count,
        segments.segment_id,
        segments.segment_name,
        segments.segment_name_zh,
        segments.segment_profile,
        segments.segment_profile_zh,
        coalesce(segments.is_outlier, false) as is_segment_outlier,
        segments.run_id as segmentation_run_id,
        retention.churn_model_id,
        retention.churn_risk_score,
        coalesce(retention.is_at_risk, false) as is_at_risk,
        retention.churn_risk_reasons,
        retention.churn_risk_reasons_zh,
        retention.retention_priority,
        case retention.retention_priority
            when 'win_back' then 1 when 'try' then 2 when 'opportunistic' then 3 else 4
        end as retention_priority_order,
        retention.next_best_action,
        retention.next_best_action_en,
        retention.next_best_action_zh,
        retention.next_best_action_reason,
        retention.next_best_action_reason_zh,
        retention.potential_value_cny,
        retention.value_at_risk_cny,
        coalesce(risk_last_month.is_at_risk, false) as was_at_risk,
        risk_last_month.value_at_risk_cny as value_at_risk_last_month_cny,
        retention.clv_12m_cny,
        retention.clv_36m_cny,
        coalesce(open_complaints.open_complaints, 0) as open_complaints,
        open_complaints.oldest_open_complaint_days
    from value_months
    inner join migrations
        on value_months.customer_id = migrations.customer_id
            and value_months.month_start_date = migrations.month_start_date
    left join retention
        on value_months.customer_id = retention.customer_id
            and value_months.month_start_date = retention.month_start_date
    left join risk_last_month
        on value_months.customer_id = risk_last_month.customer_id
            and value_months.month_start_date = risk_last_month.month_start_date
    left join segments
        on value_months.customer_id = segments.customer_id
            and value_months.month_start_date = segments.month_start_date
    left join open_complaints
        on value_months.customer_id = open_complaints.customer_id
            and value_months.month_start_date = open_complaints.month_start_date
    left join customers on value_months.customer_id = customers.customer_id
    left join relationship_managers on value_months.rm_id = relationship_managers.rm_id
    left join branches on value_months.home_sub_branch_id = branches.sub_branch_id
),

final as (
    select
        *,
        -- the call list: the at-risk customers still in the book, the most worth saving first
        case when is_at_risk and is_in_book then row_number() over call_list end as call_list_rank,
        {{ newest_batch_id() }} as built_from_batch_id
    from joined
    window call_list as (
        partition by month_start_date, rm_id, is_at_risk and is_in_book
        order by retention_priority_order asc, value_at_risk_cny desc nulls last, customer_id asc
    )
)

select * from final
