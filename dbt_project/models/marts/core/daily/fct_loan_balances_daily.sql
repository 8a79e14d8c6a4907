-- Carries the customer version (customer_key, rm_id, home_sub_branch_id) valid on the business date.
-- One row per loan account per business date on which it was open, with days past due and
-- classification: delivered, or carried forward from the last known day when the day's line is
-- missing (is_estimated). The day's IFRS 9 credit stage (seeds credit_stages and
-- loan_classification_risk, docs/value-model.md): by the day's criteria, the highest stage whose
-- days-past-due threshold the loan reaches, or its classification's minimum stage if higher; a loan
-- then stays in a stage until it has been out of that stage's criteria for the probation period
-- (var credit_stage_probation_days: a cured default is not performing the day it pays its arrears),
-- and is provisioned at the worst classification it had within that period.
-- A stage 3 day accrues no interest. Inferred accounts and incremental builds as in
-- fct_deposit_balances_daily; an incremental run takes the last dates the criteria put each loan in
-- stage 2 and 3 from the fact's row before its first new date.
{%- set since = first_new_business_date() if is_incremental() else none %}
{%- set probation_days = var('credit_stage_probation_days') %}
{#- (column, criterion): the last date each criterion held, carried from day to day -#}
{%- set last_dates = [
    ('last_stage_2_criteria_date', 'criteria.criteria_credit_stage >= 2'),
    ('last_stage_3_criteria_date', 'criteria.criteria_credit_stage = 3'),
    ('last_special_mention_or_worse_date', 'criteria.classification_rank >= 2'),
    ('last_substandard_or_worse_date', 'criteria.classification_rank >= 3'),
    ('last_doubtful_or_worse_date', 'criteria.classification_rank >= 4'),
    ('last_loss_date', 'criteria.classification_rank >= 5'),
] %}

with

balances as (
    select * from {{ ref('stg_bank__loan_balances') }}
    {% if since %}where business_date >= {{ since }}{% endif %}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

classes as (
    select * from {{ ref('loan_classification_risk') }}
),

stages as (
    select * from {{ ref('credit_stages') }}
),

{{ missing_balance_days('stg_bank__loan_balances', since,
                        ['outstanding_cny', 'interest_rate_pct', 'days_past_due', 'classification'], ['loan']) }},

delivered_and_estimated as (
    select
        account_id,
        business_date,
        outstanding_cny,
        interest_rate_pct,
        days_past_due,
        classification,
        batch_id,
        false as is_estimated,
        null::date as estimated_from_date
    from balances
    union all
    select
        account_id,
        business_date,
        outstanding_cny,
        interest_rate_pct,
        days_past_due,
        classification,
        batch_id,
        true as is_estimated,
        estimated_from_date
    from estimated_balances
),

criteria as (
    select
        balances.*,
        classes.classification_rank,
        greatest(
            classes.minimum_stage,
            (
                select max(stages.stage)
                from stages
                where balances.days_past_due >= stages.minimum_days_past_due
            )
        ) as criteria_credit_stage
    from delivered_and_estimated as balances
    left join classes on balances.classification = classes.classification
),
-- sqlfluff cannot follow the indentation of a Jinja loop in a select list: LT02 is off for these CTEs
-- noqa: disable=LT02
{%- if since %}

-- each loan's row before the new dates: when it last met each stage's and classification's criteria
before_since as (
    select
        loans.account_id,
        {%- for column, _ in last_dates %}
        fact.{{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from (select distinct account_id from criteria) as loans
    cross join lateral (
        select
            {%- for column, _ in last_dates %}
            earlier.{{ column }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ this }} as earlier
        where earlier.account_id = loans.account_id and earlier.business_date < {{ since }}
        order by earlier.business_date desc
        limit 1
    ) as fact
),
{%- endif %}

-- the last business date, up to each day, on which the loan met each criterion
probation as (
    select
        criteria.*,
        {%- for column, condition in last_dates %}
        greatest(
            {% if since %}before_since.{{ column }},{% endif %}
            max(case when {{ condition }} then criteria.business_date end) over loan_to_date
        ) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from criteria
    {% if since %}left join before_since on criteria.account_id = before_since.account_id{% endif %}
    window loan_to_date as (partition by criteria.account_id order by criteria.business_date)
),
-- noqa: enable=LT02

final as (
    select
        balances.account_id,
        balances.business_date,
        accounts.customer_id,
        customers.customer_key,
        customers.rm_id,
        customers.home_sub_branch_id,
        accounts.product_code,
        balances.outstanding_cny,
        balances.interest_rate_pct,
        balances.days_past_due,
        balances.classification,
        balances.criteria_credit_stage,
        case
            when balances.last_stage_3_criteria_date > balances.business_date - {{ probation_days }} then 3
            when balances.last_stage_2_criteria_date > balances.business_date - {{ probation_days }} then 2
            else 1
        end as credit_stage,
        -- the worst classification within the probation period: what the provision's PD and LGD use
        case
            when balances.last_loss_date > balances.business_date - {{ probation_days }} then 'loss'
            when balances.last_doubtful_or_worse_date > balances.business_date - {{ probation_days }} then 'doubtful'
            when balances.last_substandard_or_worse_date > balances.business_date - {{ probation_days }}
                then 'substandard'
            when balances.last_special_mention_or_worse_date > balances.business_date - {{ probation_days }}
                then 'special_mention'
            else 'normal'
        end as provisioning_classification,
        {%- for column, _ in last_dates %}
        balances.{{ column }},
        {%- endfor %}
        balances.is_estimated,
        balances.estimated_from_date,
        coalesce(accounts.is_inferred_member, false) as is_inferred_account,
        balances.batch_id,
        {{ newest_batch_id() }} as built_from_batch_id
    from probation as balances
    left join accounts on balances.account_id = accounts.account_id
    left join customers
        on accounts.customer_id = customers.customer_id
            and {{ as_of('customers', 'balances.business_date') }}
)

select * from final
