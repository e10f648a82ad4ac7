from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import FakeClock, running_server
from tunesmith.config import Settings

TEST_ENGINE = "tests.support.engines:StagedEngine"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir, "workers": 2, "engine_plugins": [TEST_ENGINE],
        "default_model": "test/staged", "sync_wait_seconds": 20.0,
        "signing_secret": "test-secret-0123456789", "rate_limit_per_minute": 0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def server(settings: Settings, clock: FakeClock) -> Iterator[str]:
    with running_server(settings, clock=clock) as url:
        yield url
