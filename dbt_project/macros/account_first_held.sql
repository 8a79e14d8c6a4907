{#- CTE `<balances>_first_held`: the rows of the `balances` CTE (one per account per day, read from
    `fact_model`), each flagged is_first_day_in_month: the first day the account has a balance in
    that month, the day it is counted as held. Reading whole months (a full refresh or a rebuild),
    that is its earliest day per month; adding days to months (`appending`), it is a day with no
    earlier one in the same month in the fact, found through the fact's account index, and the CTE
    is materialized because the flag is read twice and Postgres would otherwise look twice. -#}
{% macro account_first_held(balances, fact_model, appending, since_start) -%}
{%- if appending -%}
{{ balances }}_first_held as materialized (
    select
        {{ balances }}.*,
        not exists (
            select 1 from {{ ref(fact_model) }} as earlier
            where
                earlier.account_id = {{ balances }}.account_id
                and earlier.business_date >= date_trunc('month', {{ balances }}.business_date)::date
                and earlier.business_date < {{ balances }}.business_date
        ) as is_first_day_in_month
    from {{ balances }}
)
{%- else -%}
{{ balances }}_first_days as (
    select
        account_id,
        min(business_date) as business_date
    from {{ ref(fact_model) }}
    {{ since_start }}
    group by account_id, date_trunc('month', business_date)
),

{{ balances }}_first_held as (
    select
        {{ balances }}.*,
        {{ balances }}_first_days.account_id is not null as is_first_day_in_month
    from {{ balances }}
    left join {{ balances }}_first_days
        on
            {{ balances }}.account_id = {{ balances }}_first_days.account_id
            and {{ balances }}.business_date = {{ balances }}_first_days.business_date
)
{%- endif -%}
{%- endmacro %}
