{% snapshot snap_accounts %}
-- The account records delivered on the business date being replayed; a record that differs from
-- the account's current version opens a new version on that date.
select
    account_id,
    customer_id,
    product_code,
    opened_date,
    maturity_date,
    closed_date,
    contract_rate_pct,
    principal_cny
from {{ ref('stg_bank__accounts') }}
where delivered_date = '{{ snapshot_business_date() }}'
{% endsnapshot %}
