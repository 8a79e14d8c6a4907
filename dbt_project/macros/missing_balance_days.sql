{#- CTE `estimated_balances`: the account-days with no usable balance, missing rather than zero.

    The bank's balance file holds every open account every day. An open account (dim_account: opened
    on or before the day, not closed by it, of `product_families`) with no row on a delivered business
    date (its line was quarantined, or the bank left it out) gets its last known balance carried
    forward: one row per missing account-day, with the values of the last delivered row before it
    (`value_columns`, the first of which is never null in a delivered row), its batch_id and
    estimated_from_date (the business date the values were delivered on). An account with no
    delivered balance before the missing day has nothing to carry and gets no row.

    `staging_model` is read for the business dates from `since` (a date literal; none for every
    date). Incremental runs take the last row before `since` from the fact itself (`this`, through
    its (account_id, business_date) index), so a gap that began before the new days carries on. -#}
{% macro missing_balance_days(staging_model, since, value_columns, product_families) -%}
{#- a fact built before estimates existed is rebuilt from its first date: nothing before `since` to read -#}
{%- set read_this = is_incremental() and since and execute and 'estimated_from_date' in (
    adapter.get_columns_in_relation(this) | map(attribute='name') | list) %}
built_dates as (
    select business_date from {{ source('audit', 'deliveries') }}
    {% if since %}where business_date >= {{ since }}{% endif %}
),

open_accounts as (
    select account_id, opened_date, closed_date from {{ ref('dim_account') }}
    where
        not is_inferred_member
        and product_family in ('{{ product_families | join("', '") }}')
),

missing_days as (
    select
        open_accounts.account_id,
        built_dates.business_date
    from open_accounts
    inner join built_dates
        on
            open_accounts.opened_date <= built_dates.business_date
            and (open_accounts.closed_date is null or open_accounts.closed_date > built_dates.business_date)
    where not exists (
        select 1 from {{ ref(staging_model) }} as delivered
        where
            delivered.account_id = open_accounts.account_id
            and delivered.business_date = built_dates.business_date
            {#- implied by the join, but spelt out it lets Postgres read only the new dates' partitions #}
            {% if since %}and delivered.business_date >= {{ since }}{% endif %}
    )
),

missing_accounts as (
    select distinct account_id from missing_days
),

known_values as (
    select
        delivered.account_id,
        delivered.business_date,
        {% for column in value_columns %}delivered.{{ column }},
        {% endfor %}delivered.batch_id,
        delivered.business_date as estimated_from_date,
        false as is_missing
    from {{ ref(staging_model) }} as delivered
    where
        delivered.account_id in (select missing_accounts.account_id from missing_accounts)
        {% if since %}and delivered.business_date >= {{ since }}{% endif %}
    {%- if read_this %}
    union all
    select
        before_since.account_id,
        before_since.business_date,
        {% for column in value_columns %}before_since.{{ column }},
        {% endfor %}before_since.batch_id,
        coalesce(before_since.estimated_from_date, before_since.business_date) as estimated_from_date,
        false as is_missing
    from missing_accounts
    cross join lateral (
        select * from {{ this }} as fact
        where fact.account_id = missing_accounts.account_id and fact.business_date < {{ since }}
        order by fact.business_date desc
        limit 1
    ) as before_since
    {%- endif %}
    union all
    select
        missing_days.account_id,
        missing_days.business_date,
        {% for column in value_columns %}null as {{ column }},
        {% endfor %}null::bigint as batch_id,
        null::date as estimated_from_date,
        true as is_missing
    from missing_days
),

-- each missing day joins the group of the last known row before it
grouped_values as (
    select
        *,
        count({{ value_columns[0] }}) over (partition by account_id order by business_date) as value_group
    from known_values
),

estimated_balances as (
    select * from (
        select
            account_id,
            business_date,
            is_missing,
            value_group,
            {% for column in value_columns %}first_value({{ column }}) over carried as {{ column }},
            {% endfor %}first_value(batch_id) over carried as batch_id,
            first_value(estimated_from_date) over carried as estimated_from_date
        from grouped_values
        window carried as (partition by account_id, value_group order by business_date)
    ) as carried_values
    where is_missing and value_group > 0
)
{%- endmacro %}
