-- One row per loan account per month in which it had a balance row (delivered or estimated). The
-- month's sums over its days, in CNY, and its state on its first and last day in the month
-- (docs/value-model.md):
--   loan spread  = outstanding x (rate charged - FTP rate) / 100 / days_in_year, each day; on a
--                  non-accrual day (credit stage 3) no interest is earned: only the funding cost,
--                  outstanding x (0 - FTP rate)
--   provision    = outstanding x PD x LGD on the day: PD the 12-month one in stage 1, the lifetime
--                  one in stage 2, 1 in stage 3; PD and LGD those of the worst classification within
--                  the probation period (seeds loan_classification_risk, credit_stages)
--   held         = open and a non-zero outstanding on some day of the month
-- A day's spread is kept to 8 decimals of a CNY (sums exact either way), a provision to the cent.
-- The month's credit cost (the change in the provision, and write-offs) is int_loan_credit_cost_months.
-- Incremental like int_deposit_account_months.
{{
    config(
        indexes=[{'columns': ['month_start_date']}, {'columns': ['account_id', 'month_start_date'], 'unique': True}],
        meta={'insert_order_by': 'account_id'},
    )
}}
{%- set plan = monthly_build_plan() %}

with

balances as (
    select * from {{ ref('fct_loan_balances_daily') }}
    {% if plan.since %}where business_date >= {{ plan.since }}{% endif %}
),

products as (
    select * from {{ ref('dim_product') }}
),

classes as (
    select * from {{ ref('loan_classification_risk') }}
),

stages as (
    select * from {{ ref('credit_stages') }}
),

loan_days as (
    select
        balances.account_id,
        date_trunc('month', balances.business_date)::date as month_start_date,
        balances.business_date,
        balances.customer_id,
        balances.product_code,
        balances.outstanding_cny,
        balances.is_estimated,
        balances.credit_stage,
        stages.is_non_accrual,
        day_classes.classification_rank,
        round(
            balances.outstanding_cny
            * (case when stages.is_non_accrual then 0 else balances.interest_rate_pct end - products.ftp_rate_pct)
            / (100.0 * {{ var('days_in_year') }}),
            8
        ) as loan_spread_cny,
        round(
            balances.outstanding_cny
            * case stages.probability_basis
                when 'defaulted' then 1
                when 'lifetime' then provisioning_classes.lifetime_probability_of_default
                else provisioning_classes.probability_of_default
            end
            * provisioning_classes.loss_given_default, 2
        ) as provision_cny
    from balances
    left join products on balances.product_code = products.product_code
    left join classes as day_classes on balances.classification = day_classes.classification
    left join classes as provisioning_classes
        on balances.provisioning_classification = provisioning_classes.classification
    left join stages on balances.credit_stage = stages.stage
),

new_days as (
    select
        account_id,
        month_start_date,
        (array_agg(customer_id order by business_date desc))[1] as customer_id,
        (array_agg(product_code order by business_date desc))[1] as product_code,
        sum(outstanding_cny) as outstanding_day_sum_cny,
        sum(loan_spread_cny) as loan_spread_cny,
        count(*) filter (where is_non_accrual) as non_accrual_days,
        count(*) filter (where not is_estimated) as delivered_balance_days,
        count(*) filter (where is_estimated) as estimated_balance_days,
        bool_or(outstanding_cny <> 0) as is_held,
        max(classification_rank) as worst_classification_rank,
        min(business_date) as first_business_date,
        (array_agg(provision_cny order by business_date))[1] as first_provision_cny,
        max(business_date) as last_business_date,
        (array_agg(outstanding_cny order by business_date desc))[1] as last_outstanding_cny,
        (array_agg(credit_stage order by business_date desc))[1] as last_credit_stage,
        (array_agg(provision_cny order by business_date desc))[1] as last_provision_cny
    from loan_days
    group by account_id, month_start_date
),
{%- if plan.adds_to_months %}

-- what the months hold before the new days
month_so_far as (
    select
        account_id,
        month_start_date,
        customer_id,
        product_code,
        outstanding_day_sum_cny,
        loan_spread_cny,
        non_accrual_days,
        delivered_balance_days,
        estimated_balance_days,
        is_held,
        worst_classification_rank,
        first_business_date,
        first_provision_cny,
        last_business_date,
        last_outstanding_cny,
        last_credit_stage,
        last_provision_cny
    from {{ this }}
    where month_start_date >= date_trunc('month', {{ plan.since }})::date
),
{%- endif %}

-- add the new days to what their month holds
final as (
    select
        account_id,
        month_start_date,
        (array_agg(customer_id order by last_business_date desc))[1] as customer_id,
        (array_agg(product_code order by last_business_date desc))[1] as product_code,
        sum(outstanding_day_sum_cny) as outstanding_day_sum_cny,
        sum(loan_spread_cny) as loan_spread_cny,
        sum(non_accrual_days)::integer as non_accrual_days,
        sum(delivered_balance_days)::integer as delivered_balance_days,
        sum(estimated_balance_days)::integer as estimated_balance_days,
        bool_or(is_held) as is_held,
        max(worst_classification_rank) as worst_classification_rank,
        min(first_business_date) as first_business_date,
        (array_agg(first_provision_cny order by first_business_date))[1] as first_provision_cny,
        max(last_business_date) as last_business_date,
        (array_agg(last_outstanding_cny order by last_business_date desc))[1] as last_outstanding_cny,
        (array_agg(last_credit_stage order by last_business_date desc))[1] as last_credit_stage,
        (array_agg(last_provision_cny order by last_business_date desc))[1] as last_provision_cny,
        {{ newest_batch_id() }} as built_from_batch_id,
        {{ newest_business_date() }} as built_through_date
    from (
        select * from new_days
        {%- if plan.adds_to_months %}
        union all
        select * from month_so_far
        {%- endif %}
    ) as months
    group by account_id, month_start_date
)

select * from final
