{#- Reconciliation to the source (BCBS 239): for every business date, the rows of the fact plus the
    lines quarantined from `file_name` equal the control file's row count, and (with
    `amount_column`) the fact's amounts plus the quarantined lines' amounts equal its amount total,
    to the cent (macro control_reconciliation). Rows the fact estimated (config
    `where: not is_estimated`) were never delivered. Returns the dates that do not reconcile. -#}
{% test reconciles_to_control(model, file_name, amount_column=none) %}
select *
from ({{ control_reconciliation(model, file_name, amount_column) }}) as reconciliation
where not is_reconciled
{% endtest %}
