-- One row per customer per month end: the churn scores of the month's newest scored model.
with

models as (
    select * from {{ source('ml', 'churn_models') }}
),

scores as (
    select * from {{ source('ml', 'churn_scores') }}
),

scored_models as (
    select distinct on (models.month_start_date)
        models.model_id,
        models.month_start_date,
        models.model_kind
    from models
    where exists (
            select 1 from scores
            where scores.model_id = models.model_id
        )
    -- distinct on needs its key first in the order by
    order by models.month_start_date asc, models.created_at desc, models.model_id desc  -- noqa: AM06
),

final as (
    select
        scores.customer_id,
        scores.month_start_date,
        scored_models.model_id as churn_model_id,
        scored_models.model_kind as churn_model_kind,
        scores.churn_risk_score,
        -- the codes as one comma-separated text: what BI tools (and dbt's unit tests) read
        array_to_string(scores.churn_risk_reasons, ',') as churn_risk_reason_codes,
        scores.p_active,
        scores.expected_transaction_days_30d
    from scores
    inner join scored_models on scores.model_id = scored_models.model_id
)

select * from final
