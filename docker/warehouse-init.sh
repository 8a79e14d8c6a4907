#!/bin/sh
# The warehouse container's first start (docker-entrypoint-initdb.d): the project's own login, not a
# superuser, owns the warehouse database; bi_reader is the BI tools' login. The passwords come from
# the environment and reach psql as variables (:'name' quotes them), never on a command line.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v bank_password="$WAREHOUSE_PASSWORD" -v bi_reader_password="$BI_READER_PASSWORD" <<'SQL'
create role bank login createrole password :'bank_password';
create role bi_reader login password :'bi_reader_password';
alter database warehouse owner to bank;
alter schema public owner to bank;
revoke all on database warehouse from public;
grant connect on database warehouse to bank, bi_reader;
SQL
