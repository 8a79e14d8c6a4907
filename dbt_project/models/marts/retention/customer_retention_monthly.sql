-- One row per customer per month valued: who could create more and who is slipping away, and what
-- the RM should do about it (docs/retention-model.md).
--   lifecycle stage   = the first rule that holds: churned (closed in the month), prospect (holds
--                       nothing), new (onboarded < lifecycle_new_days ago), dormant (no transaction
--                       in the month nor the up to 3 months before), declining / growing (assets or
--                       value against the prior 3-month average; value only when that average is
--                       at least lifecycle_min_value_cny), else mature
--   churn risk        = the month end's churn model (ml/retention.py), its reasons in words; a
--                       customer K-Means finds unlike the rest of their segment (an outlier,
--                       ml/segmentation.py) has that as a further reason
--   potential value   = a year's margin on the headroom between the customer's wallet (seed
--                       wallet_sizes, by type and income band) and what they hold, at the bank's
--                       margin that month on each product family
--   CLV over H months = m * q * (1 - q^H) / (1 - q), with m the customer's average monthly value
--                       (trailing 12 months), q = (1 + g) * (1 - churn risk) / (1 + d): g the monthly
--                       trend of their assets (capped), d the monthly discount rate
--   retention priority= tier x risk: at risk platinum/gold win_back, iron try, lead opportunistic,
--                       value destroyers (value and trailing value <= 0) let_go; else not_at_risk
--   next best action  = the first rule that holds, with its reason (seed next_best_actions)
-- Incremental by month: a run rebuilds the months from the first one with new business dates, a
-- newer churn model or a new segmentation run.
{%- set since_month = 'least(' ~ first_changed_month() ~ ', ' ~ first_rescored_month() ~ ', '
    ~ first_resegmented_month() ~ ')' if is_incremental() else none %}

with

signals as (
    select * from {{ ref('int_customer_signals_monthly') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

value_months as (
    select * from {{ ref('customer_value_monthly') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

scores as (
    select * from {{ ref('stg_ml__churn_scores') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

segments as (
    select * from {{ ref('int_customer_segments_monthly') }}
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

wallet_sizes as (
    select * from {{ ref('wallet_sizes') }}
),

churn_reasons as (
    select * from {{ ref('churn_reasons') }}
),

next_best_actions as (
    select * from {{ ref('next_best_actions') }}
),

-- the bank's margin on each product family in the month, a year (spread or fee / average balance)
family_margins as (
    select
        month_start_date,
        sum(deposit_spread_cny) / nullif(sum(daily_average_deposit_balance_cny), 0)
        * {{ var('days_in_year') }} / max(days_delivered) as deposit_margin_rate,
        sum(wealth_fee_income_cny) / nullif(sum(daily_average_wealth_balance_cny), 0)
        * {{ var('days_in_year') }} / max(days_delivered) as wealth_margin_rate,
        sum(loan_spread_cny) / nullif(sum(daily_average_loan_balance_cny), 0)
        * {{ var('days_in_year') }} / max(days_delivered) as loan_margin_rate
    from value_months
    group by 1
),

-- the segmentation run of each month (the incremental build compares it with the one built from)
segmentation_runs as (
    select distinct
        month_start_date,
        segmentation_run_id
    from segments
),

-- customers this one brought in (referrals) and the other members of their group, at the month's end
referrals as (
    select
        value_months.referred_by_customer_id as customer_id,
        value_months.month_start_date,
        count(*) as referred_customers
    from value_months
    where value_months.referred_by_customer_id is not null
    group by 1, 2
),

groups as (
    select
        group_id,
        month_start_date,
        count(*) as group_members
    from value_months
    where group_id is not null
    group by 1, 2
),

customer_months as (
    select
        signals.*,
        value_months.customer_type,
        value_months.daily_average_deposit_balance_cny,
        value_months.daily_average_wealth_balance_cny,
        month_end_version.income_band,
        coalesce(referrals.referred_customers, 0) as referred_customers,
        coalesce(groups.group_members - 1, 0) as group_links,
        scores.churn_model_id,
        scores.churn_model_kind,
        scores.churn_risk_score,
        concat_ws(
            ',',
            nullif(scores.churn_risk_reason_codes, ''),
            case when segments.is_outlier then 'unusual_for_segment' end
        ) as churn_risk_reason_codes,
        coalesce(segments.is_outlier, false) as is_segment_outlier,
        segmentation_runs.segmentation_run_id,
        scores.p_active,
        scores.expected_transaction_days_30d,
        round(
            greatest(coalesce(wallet_sizes.deposit_wallet_cny, 0) - value_months.daily_average_deposit_balance_cny, 0),
            2
        )
            as deposit_headroom_cny,
        round(
            greatest(coalesce(wallet_sizes.wealth_wallet_cny, 0) - value_months.daily_average_wealth_balance_cny, 0), 2
        )
            as wealth_headroom_cny,
        round(greatest(coalesce(wallet_sizes.loan_wallet_cny, 0) - value_months.daily_average_loan_balance_cny, 0), 2)
            as loan_headroom_cny,
        family_margins.deposit_margin_rate,
        family_margins.wealth_margin_rate,
        family_margins.loan_margin_rate,
        signals.trailing_12_month_value_cny / nullif(signals.trailing_months_covered, 0) as monthly_margin_cny,
        case
            when signals.prior_months_held = 0 then 0
            else greatest(least(
                    ln(
                        (greatest(signals.assets_under_management_cny, 0) + 1000)
                        / (greatest(signals.prior_3_month_average_assets_cny, 0) + 1000)
                    ) / 2,
                    {{ var('clv_monthly_trend_cap_pct') }} / 100.0
                ), -{{ var('clv_monthly_trend_cap_pct') }} / 100.0)
        end as monthly_trend
    from signals
    inner join value_months
        on signals.customer_id = value_months.customer_id
            and signals.month_start_date = value_months.month_start_date
    left join customers as month_end_version
        on signals.customer_id = month_end_version.customer_id
            and {{ as_of('month_end_version', 'signals.month_end_date') }}
    left join scores
        on signals.customer_id = scores.customer_id
            and signals.month_start_date = scores.month_start_date
    left join segments
        on signals.customer_id = segments.customer_id
            and signals.month_start_date = segments.month_start_date
    left join segmentation_runs on signals.month_start_date = segmentation_runs.month_start_date
    left join wallet_sizes
        on value_months.customer_type = wallet_sizes.customer_type
            and month_end_version.income_band = wallet_sizes.income_band
    left join family_margins on signals.month_start_date = family_margins.month_start_date
    left join referrals
        on signals.customer_id = referrals.customer_id
            and signals.month_start_date = referrals.month_start_date
    left join groups
        on value_months.group_id = groups.group_id
            and value_months.month_start_date = groups.month_start_date
),

judged as (
    select
        *,
        case
            when is_closed_in_month then 'churned'
            when accounts_held = 0 then 'prospect'
            when tenure_days < {{ var('lifecycle_new_days') }} then 'new'
            when transaction_count = 0 and coalesce(prior_3_month_average_transactions, 0) = 0 then 'dormant'
            when prior_months_held > 0 and (
                    (
                        prior_3_month_average_assets_cny >= 1000
                        and assets_under_management_cny
                        < (1 - {{ var('lifecycle_declining_share') }}) * prior_3_month_average_assets_cny
                    )
                    or (
                        prior_3_month_average_value_cny >= {{ var('lifecycle_min_value_cny') }}
                        and current_value_cny
                        < (1 - {{ var('lifecycle_declining_share') }}) * prior_3_month_average_value_cny
                    )
                ) then 'declining'
            when prior_months_held > 0 and (
                    (
                        prior_3_month_average_assets_cny >= 1000
                        and assets_under_management_cny
                        > (1 + {{ var('lifecycle_growing_share') }}) * prior_3_month_average_assets_cny
                    )
                    or (
                        prior_3_month_average_value_cny >= {{ var('lifecycle_min_value_cny') }}
                        and current_value_cny
                        > (1 + {{ var('lifecycle_growing_share') }}) * prior_3_month_average_value_cny
                    )
                ) then 'growing'
            else 'mature'
        end as lifecycle_stage,
        coalesce(churn_risk_score >= {{ var('churn_risk_at_risk_threshold') }}, false) as is_at_risk,
        case
            when is_closed_in_month then 0.00
            else round(
                    deposit_headroom_cny * coalesce(deposit_margin_rate, 0)
                    + wealth_headroom_cny * coalesce(wealth_margin_rate, 0)
                    + loan_headroom_cny * coalesce(loan_margin_rate, 0), 2
                )
        end as potential_value_cny,
        -- below 1e-4 the customer is as good as gone (and q^60 would underflow a double)
        greatest(
            (1 + monthly_trend) * (1 - churn_risk_score)
            / power(1 + {{ var('clv_annual_discount_rate_pct') }} / 100.0, 1.0 / 12), 1e-4
        ) as clv_ratio
    from customer_months
),

valued as (
    select
        *,
        {%- for horizon in [12, 36, 60] %}
        round((case
            when is_closed_in_month then 0
            when abs(1 - clv_ratio) < 1e-9 then monthly_margin_cny * {{ horizon }}
            else monthly_margin_cny * clv_ratio * (1 - power(clv_ratio, {{ horizon }})) / (1 - clv_ratio)
        end)::numeric, 2) as clv_{{ horizon }}m_cny,
        {%- endfor %}
        case
            when not is_at_risk then 'not_at_risk'
            when current_value_cny <= 0 and trailing_12_month_value_cny <= 0 then 'let_go'
            when value_tier in ('platinum', 'gold') then 'win_back'
            when value_tier = 'iron' then 'try'
            else 'opportunistic'
        end as retention_priority
    from judged
),

actions as (
    select
        *,
        case
            when value_tier not in ('platinum', 'gold') then null
            when referred_customers + group_links >= {{ var('core_influence_min_links') }} then 'influence'
            when lifecycle_stage in ('new', 'growing')
                or potential_value_cny >= 0.5 * 12 * greatest(monthly_margin_cny, 0) then 'potential'
            else 'profit'
        end as core_customer_type,
        case
            when is_closed_in_month then 'none'
            when worst_classification_rank >= 2 then 'collections_review'
            when retention_priority = 'win_back' then 'retention_call'
            when retention_priority = 'try' then 'retention_offer'
            when time_deposits_run_off > 0 then 'time_deposit_renewal'
            when lifecycle_stage = 'dormant' then 'reactivation'
            when current_value_cny <= 0 then 'move_to_digital_service'
            when wealth_headroom_cny * coalesce(wealth_margin_rate, 0) >= greatest(
                    deposit_headroom_cny * coalesce(deposit_margin_rate, 0),
                    loan_headroom_cny * coalesce(loan_margin_rate, 0)
                ) and wealth_headroom_cny > 0 then 'offer_wealth_management'
            when loan_headroom_cny * coalesce(loan_margin_rate, 0)
                > deposit_headroom_cny * coalesce(deposit_margin_rate, 0) then 'offer_loan'
            when deposit_headroom_cny > 0 then 'grow_deposits'
            else 'keep_in_touch'
        end as next_best_action
    from valued
),

reasons as (
    select
        actions.customer_id,
        actions.month_start_date,
        string_agg(churn_reasons.reason_en, '; ' order by codes.position) as churn_risk_reasons,
        string_agg(churn_reasons.reason_zh, '；' order by codes.position) as churn_risk_reasons_zh
    from actions
    cross join
        lateral unnest(string_to_array(nullif(actions.churn_risk_reason_codes, ''), ','))
        with ordinality as codes (reason_code, position)
    inner join churn_reasons on codes.reason_code = churn_reasons.reason_code
    group by 1, 2
),

final as (
    select
        actions.customer_id,
        actions.month_start_date,
        actions.month_end_date,
        actions.is_complete_month,
        actions.rm_id,
        actions.customer_type,
        actions.value_tier,
        actions.current_value_cny,
        actions.trailing_12_month_value_cny,
        actions.lifecycle_stage,
        actions.churn_model_id,
        actions.churn_model_kind,
        round(actions.churn_risk_score::numeric, 4) as churn_risk_score,
        actions.is_at_risk,
        actions.churn_risk_reason_codes,
        reasons.churn_risk_reasons,
        reasons.churn_risk_reasons_zh,
        actions.is_segment_outlier,
        actions.segmentation_run_id,
        actions.retention_priority,
        actions.core_customer_type,
        actions.referred_customers,
        actions.group_links,
        actions.next_best_action,
        next_best_actions.action_en as next_best_action_en,
        next_best_actions.action_zh as next_best_action_zh,
        -- why this action, in words: the seed's template with the churn reasons or the headroom filled in
        {%- for suffix, lang, no_reasons in [('', 'en', 'churn risk'), ('_zh', 'zh', '流失风险')] %}
        replace(
            replace(
                next_best_actions.reason_{{ lang }},
                '{risk_reasons}',
                coalesce(reasons.churn_risk_reasons{{ suffix }}, '{{ no_reasons }}')
            ),
            '{amount}',
            coalesce(round(case actions.next_best_action
                when 'offer_wealth_management' then actions.wealth_headroom_cny
                when 'offer_loan' then actions.loan_headroom_cny
                when 'grow_deposits' then actions.deposit_headroom_cny
            end)::text, '')
        ) as next_best_action_reason{{ suffix }},
        {%- endfor %}
        actions.p_active,
        actions.expected_transaction_days_30d,
        actions.deposit_headroom_cny,
        actions.wealth_headroom_cny,
        actions.loan_headroom_cny,
        actions.potential_value_cny,
        round(actions.monthly_margin_cny, 2) as monthly_margin_cny,
        round(actions.monthly_trend::numeric, 4) as monthly_trend,
        actions.clv_12m_cny,
        actions.clv_36m_cny,
        actions.clv_60m_cny,
        round((coalesce(actions.churn_risk_score, 0) * greatest(actions.clv_12m_cny, 0))::numeric, 2)
            as value_at_risk_cny,
        {{ newest_batch_id() }} as built_from_batch_id
    from actions
    left join reasons
        on actions.customer_id = reasons.customer_id
            and actions.month_start_date = reasons.month_start_date
    left join next_best_actions on actions.next_best_action = next_best_actions.action_code
)

select * from final
