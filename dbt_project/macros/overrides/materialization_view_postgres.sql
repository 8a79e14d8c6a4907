{#- Views on postgres: dbt's own view materialization, skipped when the view already stands as
    last built. dbt re-creates every view on every run (create, two renames, a drop, the comments
    of every column): about 0.2 s of dbt's time for each of the 16 views, a fifth of a nightly run
    that adds one day (docs/benchmarks.md). The definition's fingerprint (md5 of the compiled SQL,
    the descriptions, grants and the persist_docs setting) ends the view's comment; a view whose
    comment ends with this run's fingerprint is left as it is. Anything else rebuilds it: a changed
    model or description, --full-refresh, a view that is missing (dbt drops dependent views with
    cascade when it replaces a table beneath them, so a view never outlives the relation it reads)
    or one that is not a view. -#}
{% materialization view, adapter='postgres' -%}
    {%- set fingerprint = 'dbt definition ' ~ local_md5(sql ~ '|' ~ (model.description or '') ~ '|'
        ~ tojson(model.columns) ~ '|' ~ tojson(config.get('grants')) ~ '|' ~ tojson(config.get('persist_docs'))) -%}
    {%- set existing = load_cached_relation(this) -%}
    {%- if existing is not none and existing.type == 'view' and not should_full_refresh() -%}
        {%- call statement('main', fetch_result=true) -%}
            select coalesce(obj_description({{ dbt.string_literal(this.render()) }}::regclass, 'pg_class'), '')
        {%- endcall -%}
        {%- if load_result('main')['data'][0][0].endswith(fingerprint) -%}
            {{- log(this ~ ' is unchanged: not rebuilt') -}}
            {{- return({'relations': [this.incorporate(type='view')]}) -}}
        {%- endif -%}
    {%- endif -%}
    {%- set relations = dbt.materialization_view_default() -%}
    {%- set description = (model.description ~ '\n\n') if model.description and config.persist_relation_docs() else '' -%}
    {%- call statement('fingerprint') -%}
        comment on view {{ this }} is {{ postgres_escape_comment(description ~ fingerprint) }}
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{- return(relations) -}}
{%- endmaterialization %}
