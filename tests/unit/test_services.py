"""Where the test session finds its servers: the configured ones, or none under CI."""

from __future__ import annotations

import pytest

from tests import services
from tests.integration.private_services import free_port


def test_nothing_answers_at_a_free_port() -> None:
    assert not services.answers(f"redis://127.0.0.1:{free_port()}/0", 6379)


def test_under_ci_nothing_answering_is_a_problem_not_a_private_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("TEST_POSTGRES_DSN", f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    monkeypatch.setenv("TEST_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    found = services.provide()
    try:
        for service in (found.postgres, found.redis):
            assert service.address is None
            assert service.started is None
            assert service.problem is not None
            assert service.problem.startswith("nothing answers at ")
    finally:
        found.stop()


def test_the_workers_get_the_addresses_the_controller_found() -> None:
    found = services.Services(
        services.Service("PostgreSQL", "postgresql://postgres@127.0.0.1:5/postgres"),
        services.Service("Redis", None, "nothing answers at redis://127.0.0.1:6/0"),
    )
    again = services.Services.from_dict(found.as_dict())
    assert again.postgres.address == found.postgres.address
    assert (again.redis.address, again.redis.problem) == (None, found.redis.problem)
