"""Install scripts run into throwaway roots, shared by the deploy tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_support import KIOSK_INSTALL, SERVER_INSTALL, run_install


@pytest.fixture(scope="module")
def kiosk_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("kiosk-root")
    run_install(KIOSK_INSTALL, root)
    yield root


@pytest.fixture(scope="module")
def server_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("server-root")
    run_install(SERVER_INSTALL, root)
    yield root
