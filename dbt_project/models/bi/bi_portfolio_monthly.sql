-- One row per book per month (marts.rm_report_books): each RM's, each branch's and the bank's
-- customers, value, risk and tier mix, with the changes against last month. An RM sees their own
-- book, a branch manager the branch's and its RMs', head office all.
{{ config(alias='portfolio_monthly') }}
with

books as (
    select * from {{ ref('rm_report_books') }}
),

final as (
    select
        books.month_start_date,
        books.portfolio_level,
        books.portfolio_id,
        books.rm_name,
        books.sub_branch_name,
        books.branch_id,
        books.branch_name,
        books.customers,
        books.customers_change,
        books.assets_under_management_cny,
        books.assets_under_management_cny_change,
        books.loans_cny,
        books.loans_cny_change,
        books.current_value_cny,
        books.current_value_cny_change,
        books.potential_value_cny,
        books.potential_value_cny_change,
        books.value_at_risk_cny,
        books.value_at_risk_cny_change,
        books.customers_at_risk,
        books.customers_at_risk_change,
        books.platinum_customers,
        books.gold_customers,
        books.iron_customers,
        books.lead_customers,
        books.customers_moved_up,
        books.customers_moved_down,
        books.customers_entered,
        books.customers_left,
        books.value_left_cny,
        books.customers_saved,
        books.at_risk_value_saved_cny,
        books.customers_lost,
        books.at_risk_value_lost_cny,
        books.open_complaints
    from books
)

select * from final
