{{
    config(
        materialized='incremental',
        unique_key='business_date',
        incremental_strategy='delete+insert',
        post_hook="create index if not exists {{ this.name }}_customer_date_idx on {{ this }} (customer_id, business_date)"
    )
}}
-- One row per deposit or wealth account per business date. Incremental: each run takes the
-- business dates loaded (or re-delivered) since the last run, found by their newer batch ids,
-- and replaces those dates whole.
with

balances as (
    select * from {{ ref('stg_bank__deposit_balances') }}
    {% if is_incremental() %}
    where business_date in (
        select business_date from {{ ref('stg_bank__deposit_balances') }}
        where batch_id > (select coalesce(max(batch_id), 0) from {{ this }})
    )
    {% endif %}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

final as (
    select
        balances.account_id,
        balances.business_date,
        accounts.customer_id,
        accounts.product_code,
        accounts.product_family,
        balances.balance_cny,
        balances.interest_rate_pct,
        balances.batch_id
    from balances
    left join accounts on balances.account_id = accounts.account_id
)

select * from final
