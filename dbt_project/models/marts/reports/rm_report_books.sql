-- One row per book per month: each RM's customers (portfolio_level rm), each branch's (by the
-- customers' home sub-branch, portfolio_level branch) and the bank's (head office, bank), summed
-- from rm_report_customers so that a report's totals are the sums of the rows it lists. Customers
-- closed in the month are out of the book (counted in customers_left). Each figure beside last
-- month's, and the month's data completeness (deliveries loaded, lines quarantined and still
-- waiting, the loader's reconciliation of every delivery, the facts' reconciliation to the control
-- files) and the runs the figures come from. At-risk value saved and lost: what was at stake last
-- month on the customers then at risk who are now safe, or who closed in the month.
-- Rebuilt from the first month rm_report_customers rebuilt, reading the month before for the changes.
-- Row security for BI: the RM's and the branch's (macro bi_row_security).
{{ config(post_hook="{{ bi_row_security(
    rm_column=\"case when portfolio_level = 'rm' then portfolio_id end\",
    branch_column=\"case when portfolio_level in ('rm', 'branch') then branch_id end\") }}") }}
{%- set since_month = 'least(' ~ first_changed_month() ~ ', ' ~ first_rescored_month() ~ ', '
    ~ first_resegmented_month() ~ ')' if is_incremental() else none %}

with

report_customers as (
    select * from {{ ref('rm_report_customers') }}
    {% if since_month %}where month_start_date >= ({{ since_month }} - interval '1 month')::date{% endif %}
),

deliveries as (
    select * from {{ source('audit', 'deliveries') }}
),

quarantined_rows as (
    select * from {{ source('audit', 'quarantined_rows') }}
),

reconciliation as (
    select * from {{ ref('delivery_reconciliation_daily') }}
),

books as (
    select
        month_start_date,
        case
            when grouping(rm_id) = 0 then 'rm'
            when grouping(branch_id) = 0 then 'branch'
            else 'bank'
        end as portfolio_level,
        case
            when grouping(rm_id) = 0 then rm_id
            when grouping(branch_id) = 0 then branch_id
            else 'bank'
        end as portfolio_id,
        case when grouping(rm_id) = 0 then max(rm_name) end as rm_name,
        -- an RM's customers may sit in several sub-branches: the RM's own is the one most of them do
        case when grouping(rm_id) = 0 then mode() within group (order by sub_branch_name) end as sub_branch_name,
        case when grouping(branch_id) = 0 or grouping(rm_id) = 0 then mode() within group (order by branch_id) end
            as branch_id,
        case when grouping(branch_id) = 0 or grouping(rm_id) = 0 then mode() within group (order by branch_name) end
            as branch_name,
        max(month_end_date) as month_end_date,
        count(*) filter (where is_in_book) as customers,
        coalesce(sum(assets_under_management_cny) filter (where is_in_book), 0) as assets_under_management_cny,
        coalesce(sum(loans_cny) filter (where is_in_book), 0) as loans_cny,
        coalesce(sum(current_value_cny) filter (where is_in_book), 0) as current_value_cny,
        coalesce(sum(potential_value_cny) filter (where is_in_book), 0) as potential_value_cny,
        coalesce(sum(value_at_risk_cny) filter (where is_in_book), 0) as value_at_risk_cny,
        count(*) filter (where is_in_book and is_at_risk) as customers_at_risk,
        count(*) filter (where is_in_book and value_tier = 'platinum') as platinum_customers,
        count(*) filter (where is_in_book and value_tier = 'gold') as gold_customers,
        count(*) filter (where is_in_book and value_tier = 'iron') as iron_customers,
        count(*) filter (where is_in_book and value_tier = 'lead') as lead_customers,
        count(*) filter (where migration = 'up') as customers_moved_up,
        count(*) filter (where migration = 'down') as customers_moved_down,
        count(*) filter (where migration = 'entered') as customers_entered,
        count(*) filter (where not is_in_book) as customers_left,
        coalesce(sum(current_value_cny) filter (where not is_in_book), 0) as value_left_cny,
        count(*) filter (where was_at_risk and is_in_book and not is_at_risk) as customers_saved,
        coalesce(sum(value_at_risk_last_month_cny) filter (where was_at_risk and is_in_book and not is_at_risk), 0)
            as at_risk_value_saved_cny,
        count(*) filter (where was_at_risk and not is_in_book) as customers_lost,
        coalesce(sum(value_at_risk_last_month_cny) filter (where was_at_risk and not is_in_book), 0)
            as at_risk_value_lost_cny,
        sum(open_complaints) as open_complaints,
        max(segmentation_run_id) as segmentation_run_id,
        max(churn_model_id) as churn_model_id
    from report_customers
    group by grouping sets ((month_start_date, rm_id), (month_start_date, branch_id), (month_start_date))
),

completeness as (
    select
        date_trunc('month', deliveries.business_date)::date as month_start_date,
        count(*) as deliveries_loaded,
        max(deliveries.business_date) as data_as_of_date,
        sum(deliveries.rows_read) as lines_read,
        sum(deliveries.rows_loaded) as lines_loaded,
        sum(deliveries.rows_quarantined) as lines_quarantined,
        bool_and(deliveries.rows_read = deliveries.rows_loaded + deliveries.rows_quarantined)
            as is_reconciled
    from deliveries
    group by date_trunc('month', deliveries.business_date)::date
),

control_files as (
    select
        date_trunc('month', business_date)::date as month_start_date,
        count(*) as control_file_days,
        count(*) filter (where is_reconciled) as control_file_days_reconciled
    from reconciliation
    group by date_trunc('month', business_date)::date
),

waiting as (
    select
        date_trunc('month', business_date)::date as month_start_date,
        count(*) as lines_waiting_in_quarantine
    from quarantined_rows
    where status = 'waiting'
    group by date_trunc('month', business_date)::date
),

changes as (
    select
        books.*,
        {%- for figure in ['customers', 'assets_under_management_cny', 'loans_cny', 'current_value_cny',
                           'potential_value_cny', 'value_at_risk_cny', 'customers_at_risk'] %}
        books.{{ figure }} - lag(books.{{ figure }}) over (
            partition by books.portfolio_level, books.portfolio_id order by books.month_start_date
        ) as {{ figure }}_change,
        {%- endfor %}
        extract(day from books.month_start_date + interval '1 month - 1 day')::integer as days_in_month,
        coalesce(completeness.deliveries_loaded, 0) as deliveries_loaded,
        completeness.data_as_of_date,
        coalesce(completeness.lines_read, 0) as lines_read,
        coalesce(completeness.lines_loaded, 0) as lines_loaded,
        coalesce(completeness.lines_quarantined, 0) as lines_quarantined,
        coalesce(waiting.lines_waiting_in_quarantine, 0) as lines_waiting_in_quarantine,
        coalesce(completeness.is_reconciled, false) as is_reconciled,
        coalesce(control_files.control_file_days, 0) as control_file_days,
        coalesce(control_files.control_file_days_reconciled, 0) as control_file_days_reconciled,
        coalesce(control_files.control_file_days = control_files.control_file_days_reconciled, false)
            as is_reconciled_to_control,
        {{ newest_batch_id() }} as built_from_batch_id
    from books
    left join completeness on books.month_start_date = completeness.month_start_date
    left join waiting on books.month_start_date = waiting.month_start_date
    left join control_files on books.month_start_date = control_files.month_start_date
),

final as (
    select * from changes
    {% if since_month %}where month_start_date >= {{ since_month }}{% endif %}
)

select * from final
