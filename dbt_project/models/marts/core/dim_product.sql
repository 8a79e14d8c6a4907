-- One row per product: family (deposit / loan / wealth), type, term and its FTP rate.
with

products as (
    {{ latest_version(ref('stg_bank__products'), 'product_code') }}
),

ftp_curve as (
    select * from {{ ref('ftp_curve') }}
),

final as (
    select
        products.product_code,
        products.product_name,
        products.product_family,
        products.product_type,
        products.term_months,
        products.rate_type,
        ftp_curve.ftp_rate_pct
    from products
    left join ftp_curve
        on products.term_months between ftp_curve.term_months_from and ftp_curve.term_months_to
)

select * from final
