"""Warehouse access: settings from the environment, the embedded Postgres, connections, dbt."""
