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
        # a password from the environment, or none (Superset's is given to it apart)
        assert re.search(r"://\w+:\$\{", url) or re.search(r"://\w+@", url), f"{url} has a literal password"
    assert (ROOT / ".env.example").exists()
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def _env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_stack_refuses_to_start_with_the_placeholders_or_without_a_fernet_key():
    import secrets

    from cryptography.fernet import Fernet

    from warehouse.settings import FERNET_KEY, STACK_SECRETS, stack_secret_problems

    example = _env_example()
    assert set(example) == {*STACK_SECRETS, FERNET_KEY}, "every secret of the stack is documented in .env.example"
    problems = stack_secret_problems(example)
    assert {p.split(":")[0] for p in problems if "," not in p.split(":")[0]} == {*STACK_SECRETS, FERNET_KEY}
    assert all("placeholder" in p for p in problems if not p.startswith(FERNET_KEY) and "same" not in p)
    good = {name: secrets.token_urlsafe(24) for name in STACK_SECRETS} | {FERNET_KEY: Fernet.generate_key().decode()}
    assert stack_secret_problems(good) == []
    assert [p.split(":")[0] for p in stack_secret_problems({**good, "BI_READER_PASSWORD": "short"})] == \
        ["BI_READER_PASSWORD"]
    assert stack_secret_problems({**good, FERNET_KEY: "not-a-key"})[0].startswith(FERNET_KEY)
    assert "same" in stack_secret_problems({**good, "WAREHOUSE_PASSWORD": good["AIRFLOW_DB_PASSWORD"]})[0]
    # the check runs first: the warehouse (and so every Airflow service) waits for it to pass
    services = COMPOSE["services"]
    assert services["preflight"]["command"] == ["python", "-m", "warehouse", "check-env"]
    assert set(services["preflight"]["environment"]) == {*STACK_SECRETS, FERNET_KEY}
    assert services["warehouse"]["depends_on"]["preflight"]["condition"] == "service_completed_successfully"
    assert ":?" in COMPOSE["x-airflow-common"]["environment"]["AIRFLOW__CORE__FERNET_KEY"]


def test_ports_are_bound_to_this_machine_unless_configured():
    published = [port for service in COMPOSE["services"].values() for port in service.get("ports", [])]
    assert published, "the warehouse and the UI are published"
    for port in published:
        assert port.startswith("${BANK_BIND_ADDRESS:-127.0.0.1}:"), port


def test_no_component_connects_as_the_warehouse_superuser():
    warehouse = COMPOSE["services"]["warehouse"]["environment"]
    superuser = warehouse["POSTGRES_USER"]
    url = COMPOSE["x-airflow-common"]["environment"]["WAREHOUSE_URL"]
    assert url.startswith("postgresql://bank:") and superuser != "bank"
    init = (ROOT / "docker" / "warehouse-init.sh").read_text()
    statements = init.split("<<'SQL'")[1].lower()
    assert "create role bank login createrole password :'bank_password'" in statements
    assert "superuser" not in statements
    assert "./docker/warehouse-init.sh:/docker-entrypoint-initdb.d/10-bank-roles.sh:ro" in \
        COMPOSE["services"]["warehouse"]["volumes"]


def test_superset_reads_bi_as_bi_reader_with_the_dashboard_as_code():
    superset = COMPOSE["services"]["superset"]
    assert superset["image"] == "apache/superset:6.1.0"
    assert superset["environment"]["BI_WAREHOUSE_URI"] == "postgresql://bi_reader@warehouse:5432/warehouse"
    assert "./bi:/app/bank_bi:ro" in superset["volumes"]
    assert "python /app/bank_bi/superset_assets.py" in superset["command"][-1]
    assert (ROOT / "bi" / "superset_assets.py").exists() and (ROOT / "bi" / "superset_config.py").exists()
    pinned = (ROOT / "bi" / "requirements.lock").read_text()
    assert "apache-superset==6.1.0" in pinned  # make bi runs the same version


def test_the_warehouse_runs_with_the_embedded_warehouses_settings():
    from warehouse.embedded import tuning

    command = COMPOSE["services"]["warehouse"]["command"]
    assert command[0] == "postgres" and command[1::2] == ["-c"] * (len(command) // 2)
    settings = dict(setting.split("=", 1) for setting in command[2::2])
    host = tuning(16 * 2**30, 4)  # the host the defaults are for: 16 GB, 4 cores
    assert list(settings) == list(host)
    for name, value in settings.items():  # the figure itself, or .env's with the figure as default
        assert value == host[name] or re.fullmatch(r"\$\{WAREHOUSE_[A-Z_]+:-" + re.escape(host[name]) + "}", value), \
            (name, value)


def test_the_celery_and_citus_profiles_use_the_same_image_and_secrets():
    services = COMPOSE["services"]
    worker = services["airflow-worker"]
    assert worker["profiles"] == ["celery"] and worker["command"] == ["airflow", "celery", "worker"]
    assert worker["build"] == "." and worker["depends_on"]["redis"]["condition"] == "service_healthy"
    env = COMPOSE["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    citus = {name: s for name, s in services.items() if s.get("profiles") == ["citus"]}
    assert set(citus) == {"citus-coordinator", "citus-worker-1", "citus-worker-2", "citus-init"}
    assert all(s["image"].startswith("citusdata/citus:") for s in citus.values())
    assert "ports" not in worker and all("ports" not in s for s in citus.values())  # inside the stack's network
    nodes = " ".join(services["citus-init"]["command"])
    assert "citus_add_node('citus-worker-1', 5432)" in nodes and "citus_add_node('citus-worker-2', 5432)" in nodes
