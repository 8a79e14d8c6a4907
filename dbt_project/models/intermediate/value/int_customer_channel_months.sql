-- One row per customer per channel per month in which they had a transaction: counts, amounts, fees
-- earned and the cost to serve them, in CNY (docs/value-model.md):
--   transaction cost = transactions x the channel's unit cost (seed cost_to_serve; a branch visit
--                      costs more than a mobile transfer; the bank's own postings, channel system,
--                      cost nothing and are not customer activity)
-- Transactions of an account not delivered yet (inferred member) belong to no customer until it
-- arrives. Incremental like int_deposit_account_months.
{{
    config(
        indexes=[{'columns': ['month_start_date']}, {'columns': ['customer_id', 'channel', 'month_start_date'], 'unique': True}],
        meta={'insert_order_by': 'customer_id'},
    )
}}
{%- set plan = monthly_build_plan() %}

with

transactions as (
    select * from {{ ref('fct_transactions') }}
    {% if plan.since %}where business_date >= {{ plan.since }}{% endif %}
),

cost_to_serve as (
    select * from {{ ref('cost_to_serve') }}
),

new_days as (
    select
        transactions.customer_id,
        transactions.channel,
        date_trunc('month', transactions.business_date)::date as month_start_date,
        count(*) as transaction_count,
        sum(transactions.amount_cny) as transaction_amount_cny,
        sum(transactions.fee_cny) as fee_income_cny,
        sum(cost_to_serve.unit_cost_cny) as transaction_cost_cny,
        max(transactions.business_date) as last_transaction_date
    from transactions
    left join cost_to_serve on transactions.channel = cost_to_serve.cost_driver
    where transactions.customer_id is not null
    group by
        transactions.customer_id,
        transactions.channel,
        date_trunc('month', transactions.business_date)::date
),
{%- if plan.adds_to_months %}

-- what the months hold before the new days
month_so_far as (
    select
        customer_id,
        channel,
        month_start_date,
        transaction_count,
        transaction_amount_cny,
        fee_income_cny,
        transaction_cost_cny,
        last_transaction_date
    from {{ this }}
    where month_start_date >= date_trunc('month', {{ plan.since }})::date
),
{%- endif %}

-- add the new days to what their month holds
final as (
    select
        customer_id,
        channel,
        month_start_date,
        sum(transaction_count)::integer as transaction_count,
        sum(transaction_amount_cny) as transaction_amount_cny,
        sum(fee_income_cny) as fee_income_cny,
        sum(transaction_cost_cny) as transaction_cost_cny,
        max(last_transaction_date) as last_transaction_date,
        {{ newest_batch_id() }} as built_from_batch_id,
        {{ newest_business_date() }} as built_through_date
    from (
        select * from new_days
        {%- if plan.adds_to_months %}
        union all
        select * from month_so_far
        {%- endif %}
    ) as months
    group by customer_id, channel, month_start_date
)

select * from final
