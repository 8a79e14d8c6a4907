{#- Reconciliation to the source (BCBS 239): for every business date, the rows of the fact plus the
    lines quarantined from `file_name` equal the control file's row count, and (with
    `amount_column`) the fact's amounts plus the quarantined lines' amounts equal its amount total,
    to the cent. A quarantined line retried since is in the fact, not counted twice; rows the fact
    estimated (config `where: not is_estimated`) were never delivered. Returns the dates that do not
    reconcile. -#}
{% test reconciles_to_control(model, file_name, amount_column=none) %}
with

control as (
    select business_date, row_count, amount_total
    from {{ source('audit', 'control_totals') }}
    where file_name = '{{ file_name }}'
),

facts as (
    select
        business_date,
        count(*) as row_count,
        {% if amount_column %}sum({{ amount_column }}){% else %}null::numeric{% endif %} as amount_total
    from {{ model }}
    group by 1
),

quarantined as (
    select business_date, count(*) as row_count, sum(amount_cny) as amount_total
    from {{ source('audit', 'quarantined_rows') }}
    where file_name = '{{ file_name }}' and status <> 'retried'
    group by 1
),

final as (
    select
        control.business_date,
        control.row_count as control_rows,
        coalesce(facts.row_count, 0) as fact_rows,
        coalesce(quarantined.row_count, 0) as quarantined_rows,
        control.amount_total as control_amount,
        coalesce(facts.amount_total, 0) + coalesce(quarantined.amount_total, 0) as accounted_amount
    from control
    left join facts on control.business_date = facts.business_date
    left join quarantined on control.business_date = quarantined.business_date
)

select *
from final
where control_rows <> fact_rows + quarantined_rows
    {% if amount_column %}or control_amount is distinct from accounted_amount{% endif %}
{% endtest %}
