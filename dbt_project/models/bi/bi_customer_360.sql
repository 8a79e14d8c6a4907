-- One row per customer: the information query's view of them (marts.customer_360), who they are, what they hold,
-- their value and last contact. National id and phone are never whole here; the name is whole only
-- for the customer's own RM. Row scope as bi.customer_monthly.
{{ config(alias='customer_360') }}
with

customers as (
    select * from {{ ref('customer_360') }}
),

final as (
    select
        customers.customer_id,
        customers.customer_type,
        {{ mask_pii('customers.full_name', kind='name', clear_for_rm='customers.rm_id') }} as full_name,
        customers.national_id_masked,
        customers.phone_masked,
        customers.gender,
        customers.industry,
        customers.occupation,
        customers.income_band,
        customers.district,
        customers.onboarding_date,
        customers.tenure_years,
        customers.group_id,
        customers.rm_id,
        customers.rm_name,
        customers.sub_branch_id,
        customers.sub_branch_name,
        customers.branch_id,
        customers.branch_name,
        customers.open_accounts,
        customers.product_types_held,
        customers.balances_as_of_date,
        customers.deposit_balance_cny,
        customers.wealth_balance_cny,
        customers.loan_outstanding_cny,
        customers.max_days_past_due,
        customers.value_month_start_date,
        customers.value_tier,
        customers.relationship_type,
        customers.current_value_cny,
        customers.last_transaction_date,
        customers.last_interaction_date,
        customers.complaints_last_90_days
    from customers
)

select * from final
