{#- Rename the month partitions of `parent` (if it stands and is partitioned) to `<prefix>YYYYMM`, and
    their indexes to `<prefix>YYYYMM_i<n>`: before a full refresh swaps in the new table, the one it
    replaces (to be renamed to dbt's backup and dropped) gives up the partitions' names for the new
    one's, and the index names Postgres derives from them (else a full refresh would give the new
    partitions' indexes a numeric suffix, `..._idx1`, and the next one take it off again). -#}
{% macro rename_month_partitions(parent, prefix) -%}
do $rename_month_partitions$
declare
    partition record;
    index record;
begin
    for partition in
        select child.oid, child.oid::regclass::text as name, right(child.relname, 6) as month
        from pg_inherits as link
        join pg_class as child on child.oid = link.inhrelid
        where link.inhparent = to_regclass({{ dbt.string_literal(parent.render()) }})
            and child.relname ~ '_p[0-9]{6}$'
    loop
        for index in
            select indexrelid::regclass::text as name, row_number() over (order by indexrelid) as n
            from pg_index where indrelid = partition.oid
        loop
            execute format('alter index %s rename to %I', index.name,
                           {{ dbt.string_literal(prefix) }} || partition.month || '_i' || index.n);
        end loop;
        execute format('alter table %s rename to %I', partition.name, {{ dbt.string_literal(prefix) }} || partition.month);
    end loop;
end $rename_month_partitions$
{%- endmacro %}
