# Airflow 3.3 with the project's packages and dbt installed: the image every Airflow service runs.
FROM apache/airflow:3.3.2-python3.11
USER root
COPY --chown=airflow:root . /opt/project
USER airflow
WORKDIR /opt/project
# The project pins apache-airflow==3.3.2, the image's own version, so pip keeps the image's Airflow.
RUN pip install --no-cache-dir /opt/project
ENV DBT_PROJECT_DIR=/opt/project/dbt_project
