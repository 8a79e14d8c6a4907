-- One row per branch, channel and month (marts.channel_profitability_monthly): transactions,
-- customers, fees, cost to serve and contribution. Row scope as bi.product_profitability_monthly.
{{ config(alias='channel_profitability_monthly') }}
with

channels as (
    select * from {{ ref('channel_profitability_monthly') }}
),

final as (
    select
        channels.month_start_date,
        channels.branch_id,
        channels.channel,
        channels.transaction_count,
        channels.customers,
        channels.transaction_amount_cny,
        channels.fee_income_cny,
        channels.cost_to_serve_cny,
        channels.contribution_cny
    from channels
)

select * from final
