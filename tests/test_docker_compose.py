"""Docker cannot run on these machines: check the compose file describes the production-like stack."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
AIRFLOW_SERVICES = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                    "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer"}


def test_the_stack_has_a_warehouse_airflow_and_its_own_metadata_database():
    services = COMPOSE["services"]
    assert {"warehouse", "airflow-metadata", "airflow-init", *AIRFLOW_SERVICES} <= set(services)
    assert services["warehouse"]["image"].startswith("postgres:16")
    assert services["airflow-metadata"]["image"].startswith("postgres:")
    assert {"warehouse-data", "airflow-metadata"} <= set(COMPOSE["volumes"])
    assert "warehouse-data:/var/lib/postgresql/data" in services["warehouse"]["volumes"]


def test_every_airflow_service_runs_the_project_image_with_its_component():
    for name, component in AIRFLOW_SERVICES.items():
        service = COMPOSE["services"][name]
        assert service["build"] == "."
        assert service["command"] == ["airflow", component]
        env = service["environment"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
        assert "@airflow-metadata:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert env["WAREHOUSE_URL"] == env["AIRFLOW_CONN_WAREHOUSE"]
        assert "@warehouse:5432/warehouse" in env["WAREHOUSE_URL"]
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/project/dags"
        assert "./dags:/opt/project/dags:ro" in service["volumes"]
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert COMPOSE["services"]["airflow-init"]["command"] == ["airflow", "db", "migrate"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.\d+-python3\.11$", dockerfile, re.M)


def test_no_secret_is_written_in_the_compose_file():
    text = (ROOT / "docker-compose.yml").read_text()
    keys = list(re.finditer(r"^\s*([A-Z_]*(?:PASSWORD|SECRET|KEY)[A-Z_]*):\s*(\S+)", text, re.M))
    assert len(keys) >= 4
    for match in keys:
        value = match.group(2)
        assert value.startswith("${"), f"{match.group(0)!r} must come from the environment"
    for url in re.findall(r"postgresql(?:\+psycopg2)?://[^\s]+", text):
        assert re.search(r"://\w+:\$\{", url), f"{url} has a literal password"
    assert (ROOT / ".env.example").exists()
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
