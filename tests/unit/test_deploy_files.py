"""The deployment files keep their promises: one image, ordered start-up, probes, no secrets
baked in, and every variable compose reads documented in .env.example."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_one_image_for_every_app_service_started_in_order() -> None:
    services = compose()["services"]
    assert len({services[name]["image"] for name in APP_SERVICES}) == 1
    assert services["migrate"]["command"] == ["credit", "database", "upgrade", "--no-prompt"]
    assert services["worker"]["command"] == ["credit", "workers", "run"]
    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert services[name]["environment"]["AUTH_REQUIRED"] == "true"
        assert services[name]["environment"]["DEBUG"] == "false"
        assert "./data:/data:ro" in services[name]["volumes"]
    assert "/ready" in " ".join(services["web"]["healthcheck"]["test"])
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]
        assert any(":" in volume for volume in services[name]["volumes"])  # named volume


def test_every_compose_variable_is_documented_in_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", (ROOT / "docker-compose.yml").read_text()))
    documented = set(
        re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE)
    )
    assert used - documented == set()


def test_image_is_locked_lean_and_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)
    runtime = stages[-1]
    assert "uv sync --locked --no-dev" in dockerfile
    assert not re.search(r"\buv\b", runtime)  # no build tool at run time
    assert re.search(r"^USER (?!root)\w+", runtime, re.MULTILINE)
    assert "uvicorn" in runtime
    for secret in ("PASSWORD", "API_KEY", "SECRET"):
        assert secret not in dockerfile
