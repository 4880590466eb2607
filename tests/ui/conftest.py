"""The browser specs: Debian's Chromium (``/usr/bin/chromium``, installed by ``make test-deps``) driven by the
Python Playwright package against the real control plane serving the UI (``harness.ui_plane``), with simulated
stations. Without Chromium or Playwright the specs are skipped and say why; nothing is ever downloaded."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from .harness import CHROMIUM, browser, chromium_path

ROOT = Path(__file__).resolve().parents[2]
#: Screenshots the specs take (not committed: build/ is ignored).
ARTEFACTS = ROOT / "build" / "ui-artefacts"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = None
    if importlib.util.find_spec("playwright") is None:
        reason = "the playwright package is not installed (pip install -e '.[test]')"
    elif chromium_path() is None:
        reason = f"no Chromium at {CHROMIUM}: run `make test-deps` (apt-get install chromium)"
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.path)).is_relative_to(here):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium() -> AsyncIterator[object]:
    async with browser() as running:
        yield running


@pytest.fixture
def artefacts() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS
