{% snapshot snap_customer_assignments %}
-- Who looks after each customer: their relationship manager and home sub-branch. A new version
-- opens only when one of the two changes, on the business date of the delivery that changed it.
select
    customer_id,
    rm_id,
    home_sub_branch_id
from {{ ref('stg_bank__customers') }}
where delivered_date = '{{ snapshot_business_date() }}'
{% endsnapshot %}
