{#- The first business date an incremental model must (re)build: the earliest one loaded, re-delivered
    or revised (a quarantined line retried, a late master resolving its events: audit.deliveries
    revision_batch_id) since the newest batch the model was built from (`batch_column`, every model's
    built_from_batch_id, recorded at build time). Every later date is rebuilt too, which is what is
    needed: the loader reloads every date after a re-delivered one. The load registry has one row per
    date, so this reads a few hundred rows, never raw.
    It is looked up when the model runs and written into its SQL as a date literal, so that Postgres
    plans with the real date: it skips every raw partition before it, and on a fact it reads the
    new date through the index (a subquery's value is unknown when planning, and the planner
    guessed a third of the table and scanned it all). `null::date` (nothing is rebuilt) when nothing
    is new. -#}
{% macro first_new_business_date(batch_column='built_from_batch_id') -%}
    {%- set first_date = new_business_dates_start(batch_column) -%}
    {{- return("date '" ~ first_date ~ "'" if first_date else 'null::date') -}}
{%- endmacro %}

{#- The first month a monthly model must (re)build, the month of first_new_business_date. -#}
{% macro first_changed_month() -%}
    {%- set first_date = new_business_dates_start('built_from_batch_id') -%}
    {{- return("date '" ~ first_date[:8] ~ "01'" if first_date else 'null::date') -}}
{%- endmacro %}

{#- The date itself, as text (YYYY-MM-DD), or none. -#}
{% macro new_business_dates_start(batch_column) -%}
    {%- set deliveries = source('audit', 'deliveries') -%}  {#- at parse time too: the model depends on it -#}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- if batch_column not in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
        {#- a table built before the column existed: rebuild every date -#}
        {%- set batch_column = '0' -%}
    {%- endif -%}
    {%- set query -%}
        select min(business_date)::text
        from {{ deliveries }}
        where revision_batch_id > (select coalesce(max({{ batch_column }}), 0) from {{ this }})
    {%- endset -%}
    {{- return(run_query(query).columns[0].values()[0]) -}}
{%- endmacro %}

{#- How a monthly model that adds up days is brought up to date, decided when it runs:
    - append: the new business dates all come after the last one it holds (the nightly case). The
      months they fall in are its rows for those months plus the new days: one day's work;
    - rebuild: an earlier date was re-delivered (or the table predates built_through_date). Every
      month from that date's month is added up again from its days;
    - nothing new: no rows.
    Returns {'mode': ..., 'start_date': SQL date literal}: the first business date to read. -#}
{% macro monthly_build_plan() -%}
    {%- set first_date = new_business_dates_start('built_from_batch_id') -%}
    {%- if first_date is none -%}
        {{- return({'mode': 'nothing new', 'start_date': 'null::date'}) -}}
    {%- endif -%}
    {%- set built_through = none -%}
    {%- if 'built_through_date' in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
        {%- set built_through = run_query('select max(built_through_date)::text from ' ~ this).columns[0].values()[0] -%}
    {%- endif -%}
    {%- if built_through is not none and first_date > built_through -%}
        {{- return({'mode': 'append', 'start_date': "date '" ~ first_date ~ "'"}) -}}
    {%- endif -%}
    {{- return({'mode': 'rebuild', 'start_date': "date '" ~ first_date[:8] ~ "01'"}) -}}
{%- endmacro %}
