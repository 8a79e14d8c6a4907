{% snapshot snap_customers %}
-- The customer records delivered on the business date being replayed (masters are deltas);
-- a record that differs from the customer's current version opens a new version on that date.
select
    customer_id,
    customer_type,
    full_name,
    national_id,
    phone,
    birth_date,
    gender,
    industry,
    occupation,
    income_band,
    district,
    onboarding_date,
    home_sub_branch_id,
    rm_id,
    referred_by_customer_id,
    group_id,
    closed_date
from {{ ref('stg_bank__customers') }}
where delivered_date = '{{ snapshot_business_date() }}'
{% endsnapshot %}
