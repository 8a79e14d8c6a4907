{#- Reconciliation of a fact to the control files (BCBS 239), one row per business date the control
    files list `file_name` for: its control row count and amount total beside the fact's rows plus
    the lines quarantined from the file (a quarantined line retried since is in the fact, not counted
    twice), and whether they agree to the cent. `model` is the fact's relation, or a subquery of the
    rows that were delivered (estimated rows were not); `amount_column` the fact's amount that the
    control total sums (none: rows only); `since` a SQL date, the first business date compared (none:
    every date). Used by the test reconciles_to_control and the mart delivery_reconciliation_daily. -#}
{% macro control_reconciliation(model, file_name, amount_column=none, since=none) -%}
with

control as (
    select business_date, row_count, amount_total
    from {{ source('audit', 'control_totals') }}
    where file_name = '{{ file_name }}'
        {% if since %}and business_date >= {{ since }}{% endif %}
),

facts as (
    select
        business_date,
        count(*) as row_count,
        {% if amount_column %}sum({{ amount_column }}){% else %}null::numeric{% endif %} as amount_total
    from {{ model }}
    {% if since %}where business_date >= {{ since }}{% endif %}
    group by 1
),

quarantined as (
    select business_date, count(*) as row_count, sum(amount_cny) as amount_total
    from {{ source('audit', 'quarantined_rows') }}
    where file_name = '{{ file_name }}' and status <> 'retried'
        {% if since %}and business_date >= {{ since }}{% endif %}
    group by 1
),

compared as (
    select
        control.business_date,
        '{{ file_name }}'::text as file_name,
        control.row_count as control_rows,
        coalesce(facts.row_count, 0) as fact_rows,
        coalesce(quarantined.row_count, 0) as quarantined_rows,
        control.amount_total as control_amount,
        {%- if amount_column %}
        coalesce(facts.amount_total, 0) + coalesce(quarantined.amount_total, 0) as accounted_amount
        {%- else %}
        null::numeric as accounted_amount
        {%- endif %}
    from control
    left join facts on control.business_date = facts.business_date
    left join quarantined on control.business_date = quarantined.business_date
)

select
    *,
    (
        control_rows = fact_rows + quarantined_rows
        {%- if amount_column %} and control_amount is not distinct from accounted_amount{% endif %}
    ) as is_reconciled
from compared
{%- endmacro %}
