{#- The first business date an incremental daily fact must (re)build: the earliest one loaded, or
    re-delivered, since the fact's newest batch. Every later date is rebuilt too, which is what is
    needed: the loader reloads every date after a re-delivered one. The load registry has one row
    per date, so this reads a few hundred rows, never raw; and as a scalar subquery it lets Postgres
    skip every raw partition before that date. Null (nothing is rebuilt) when nothing is new. -#}
{% macro first_new_business_date() -%}
    (
        select min(business_date)
        from {{ source('audit', 'deliveries') }}
        where batch_id > (select coalesce(max(batch_id), 0) from {{ this }})
    )
{%- endmacro %}
