"""``wattcap`` commands run on uvloop when it is installed, on the standard loop otherwise or when told to; ``wattcap
serve`` keeps its start-up heap out of the garbage collector's full passes."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest

from wattcap.cli import fast_event_loop, settle_heap


@pytest.fixture
def policy():
    saved = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(saved)


def test_uvloop_when_installed(policy, monkeypatch):
    pytest.importorskip("uvloop")
    monkeypatch.delenv("WATTCAP_EVENT_LOOP", raising=False)
    assert fast_event_loop() is True
    loop = asyncio.new_event_loop()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


def test_the_standard_loop_on_request_or_without_uvloop(policy, monkeypatch):
    monkeypatch.setenv("WATTCAP_EVENT_LOOP", "asyncio")
    assert fast_event_loop() is False
    monkeypatch.delenv("WATTCAP_EVENT_LOOP")
    monkeypatch.setitem(sys.modules, "uvloop", None)  # not installed: import fails
    assert fast_event_loop() is False
    loop = asyncio.new_event_loop()
    try:
        assert type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()


@pytest.fixture
def collector():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_serve_settles_the_start_up_heap_out_of_full_collections(collector, monkeypatch):
    monkeypatch.delenv("WATTCAP_GC", raising=False)
    assert settle_heap() is True
    assert gc.get_freeze_count() > 0  # what existed is frozen


def test_python_gc_defaults_on_request(collector, monkeypatch):
    monkeypatch.setenv("WATTCAP_GC", "default")
    assert settle_heap() is False
    assert gc.get_freeze_count() == 0
