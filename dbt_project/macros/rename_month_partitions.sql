{#- Rename the month partitions of `parent` (if it stands and is partitioned) to `<prefix>YYYYMM`:
    before a full refresh swaps in the new table, the one it replaces (to be renamed to dbt's backup
    and dropped) gives up the partition names for the new one's. -#}
{% macro rename_month_partitions(parent, prefix) -%}
do $rename_month_partitions$
declare
    partition record;
begin
    for partition in
        select child.oid::regclass::text as name, right(child.relname, 6) as month
        from pg_inherits as link
        join pg_class as child on child.oid = link.inhrelid
        where link.inhparent = to_regclass({{ dbt.string_literal(parent.render()) }})
            and child.relname ~ '_p[0-9]{6}$'
    loop
        execute format('alter table %s rename to %I', partition.name, {{ dbt.string_literal(prefix) }} || partition.month);
    end loop;
end $rename_month_partitions$
{%- endmacro %}
