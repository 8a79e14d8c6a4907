{#- How a model of one row per account (or customer, channel) per month, made of sums over days, is
    brought up to date; decided when it runs, and logged ("build plan <model>: ..."), which is how
    tests/dbt/test_incremental.py knows which way a run went:
    - full refresh: every day is read (`since` none);
    - add days: the new business dates all come after the last one the model holds (the nightly
      case). Its rows for the months they fall in are added to (adds_to_months true): one day's work;
    - rebuild months: an earlier date was re-delivered or revised (or the table predates
      built_through_date): every month from that date's month is summed again from its days;
    - nothing new: no day is read (`since` is null::date).
    Returns {'adds_to_months': bool, 'since': SQL date literal of the first business date to read,
    or none for every date}. -#}
{% macro monthly_build_plan() -%}
    {%- set plan = {'adds_to_months': false, 'since': none, 'path': 'full refresh'} -%}
    {%- if is_incremental() -%}
        {%- set first_date = new_business_dates_start('built_from_batch_id') -%}
        {%- set built_through = none -%}
        {%- if first_date and 'built_through_date' in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
            {%- set built_through = run_query('select max(built_through_date)::text from ' ~ this).columns[0].values()[0] -%}
        {%- endif -%}
        {%- if first_date is none -%}
            {%- do plan.update({'since': 'null::date', 'path': 'nothing new'}) -%}
        {%- elif built_through is not none and first_date > built_through -%}
            {%- do plan.update({'adds_to_months': true, 'since': "date '" ~ first_date ~ "'",
                                'path': 'add days from ' ~ first_date}) -%}
        {%- else -%}
            {%- do plan.update({'since': "date '" ~ first_date[:8] ~ "01'", 'path': 'rebuild months from ' ~ first_date[:8] ~ '01'}) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if execute -%}
        {{- log('build plan ' ~ this.identifier ~ ': ' ~ plan['path'], info=True) -}}
    {%- endif -%}
    {{- return(plan) -}}
{%- endmacro %}
