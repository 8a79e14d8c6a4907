#!/bin/sh
# The warehouse container's first start (docker-entrypoint-initdb.d): the project's set-up login, not a
# superuser, owns the warehouse database; each component of the pipeline has its own login, which the
# set-up login may act for (its rights: python -m warehouse setup, warehouse/access.py); bi_reader is
# the BI tools' login. The passwords come from the environment and reach psql as variables (:'name'
# quotes them), never on a command line.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v bank_password="$WAREHOUSE_PASSWORD" -v bi_reader_password="$BI_READER_PASSWORD" \
     -v loader_password="$WAREHOUSE_LOADER_PASSWORD" -v transformer_password="$WAREHOUSE_TRANSFORMER_PASSWORD" \
     -v ml_password="$WAREHOUSE_ML_PASSWORD" -v reports_password="$WAREHOUSE_REPORTS_PASSWORD" <<'SQL'
create role bank login createrole password :'bank_password';
create role bank_loader login password :'loader_password';
create role bank_transformer login password :'transformer_password';
create role bank_ml login password :'ml_password';
create role bank_reports login password :'reports_password';
grant bank_loader, bank_transformer, bank_ml, bank_reports to bank with admin option, inherit true, set true;
create role bi_reader login password :'bi_reader_password';
alter database warehouse owner to bank;
alter schema public owner to bank;
revoke all on database warehouse from public;
grant connect on database warehouse to bank, bank_loader, bank_transformer, bank_ml, bank_reports, bi_reader;
SQL
