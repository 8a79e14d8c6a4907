-- One row per customer per month valued (marts.rm_report_customers): value and tier, segment, churn
-- risk and next best action, lifetime and potential value. An RM sees their customers, a branch
-- manager the branch's, head office all; the name is whole only for the customer's own RM.
{{ config(alias='customer_monthly') }}
with

customers as (
    select * from {{ ref('rm_report_customers') }}
),

final as (
    select
        customers.month_start_date,
        customers.customer_id,
        {{ mask_pii('customers.customer_name', kind='name', clear_for_rm='customers.rm_id') }} as customer_name,
        customers.customer_type,
        customers.is_in_book,
        customers.rm_id,
        customers.rm_name,
        customers.sub_branch_id,
        customers.sub_branch_name,
        customers.branch_id,
        customers.branch_name,
        customers.value_tier,
        customers.from_tier,
        customers.migration,
        customers.value_rank,
        customers.relationship_type,
        customers.lifecycle_stage,
        customers.current_value_cny,
        customers.trailing_12_month_value_cny,
        customers.assets_under_management_cny,
        customers.loans_cny,
        customers.transaction_count,
        customers.segment_id,
        customers.segment_name,
        customers.segment_name_zh,
        customers.is_segment_outlier,
        customers.churn_risk_score,
        customers.is_at_risk,
        customers.churn_risk_reasons,
        customers.churn_risk_reasons_zh,
        customers.retention_priority,
        customers.next_best_action_en,
        customers.next_best_action_zh,
        customers.potential_value_cny,
        customers.value_at_risk_cny,
        customers.clv_12m_cny,
        customers.clv_36m_cny,
        customers.open_complaints,
        customers.call_list_rank
    from customers
)

select * from final
