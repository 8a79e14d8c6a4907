-- One row per loan account per month in which it held a provision at the month's start or end, or
-- was written off: the month's credit cost as a bank books it (IFRS 9 style, docs/value-model.md).
--   opening provision = the provision at the previous month's end; in the first month of history,
--                       a loan already on the book on its first business date opens at that day's
--                       provision (the book is inherited, not built in one month)
--   closing provision = the provision on the month's last business date; 0 if the loan left the
--                       book during the month
--   write-off         = a loan that left the book in credit stage 3: its last outstanding
--   credit cost       = closing - opening + write-off (a build is a cost, a release a gain)
-- Incremental by month: a run rebuilds the months from the first one with new business dates.
{{
    config(
        indexes=[{'columns': ['month_start_date']}, {'columns': ['account_id', 'month_start_date'], 'unique': True}],
        meta={'insert_order_by': 'account_id'},
    )
}}
{%- set since_month = first_changed_month() if is_incremental() else none %}

with

loan_months as (
    select * from {{ ref('int_loan_account_months') }}
    {% if since_month %}where month_start_date >= ({{ since_month }} - interval '1 month')::date{% endif %}
),

dates as (
    select * from {{ ref('dim_date') }}
),

month_ends as (
    select
        month_start_date,
        max(date_day) as last_business_date
    from dates
    group by month_start_date
),

history as (
    select min(date_day) as first_business_date from dates
),

-- each loan-month, and whether the loan was still on the book on the month's last business date
loan_month_ends as (
    select
        loan_months.*,
        loan_months.last_business_date = month_ends.last_business_date as is_on_book_at_month_end
    from loan_months
    inner join month_ends on loan_months.month_start_date = month_ends.month_start_date
),

-- what each loan on the book at a month's end brings into the next month
brought_forward as (
    select
        account_id,
        customer_id,
        product_code,
        (month_start_date + interval '1 month')::date as month_start_date,
        last_provision_cny as provision_cny,
        last_outstanding_cny as outstanding_cny,
        last_credit_stage as credit_stage
    from loan_month_ends
    where is_on_book_at_month_end
),

provisions as (
    select
        coalesce(this_month.account_id, brought_forward.account_id) as account_id,
        coalesce(this_month.month_start_date, brought_forward.month_start_date) as month_start_date,
        coalesce(this_month.customer_id, brought_forward.customer_id) as customer_id,
        coalesce(this_month.product_code, brought_forward.product_code) as product_code,
        case
            when brought_forward.account_id is not null then brought_forward.provision_cny
            when this_month.first_business_date = history.first_business_date then this_month.first_provision_cny
            else 0
        end as opening_provision_cny,
        case when this_month.is_on_book_at_month_end then this_month.last_provision_cny else 0 end
            as closing_provision_cny,
        case
            when this_month.is_on_book_at_month_end then 0
            -- left the book during the month: written off if it left in stage 3
            when this_month.account_id is not null and this_month.last_credit_stage = 3
                then this_month.last_outstanding_cny
            -- left the book on the month's first day, after the previous month's end
            when this_month.account_id is null and brought_forward.credit_stage = 3
                then brought_forward.outstanding_cny
            else 0
        end as write_off_cny,
        case when this_month.is_on_book_at_month_end then this_month.last_credit_stage end
            as month_end_credit_stage
    from loan_month_ends as this_month
    full outer join brought_forward
        on
            this_month.account_id = brought_forward.account_id
            and this_month.month_start_date = brought_forward.month_start_date
    cross join history
),

final as (
    select
        provisions.*,
        provisions.closing_provision_cny - provisions.opening_provision_cny as provision_change_cny,
        provisions.closing_provision_cny - provisions.opening_provision_cny + provisions.write_off_cny
            as credit_cost_cny,
        {{ newest_batch_id() }} as built_from_batch_id
    from provisions
    where
        provisions.month_start_date in (select month_ends.month_start_date from month_ends)
        {% if since_month %}and provisions.month_start_date >= {{ since_month }}{% endif %}
        and (
            provisions.opening_provision_cny <> 0
            or provisions.closing_provision_cny <> 0
            or provisions.write_off_cny <> 0
        )
)

select * from final
