"""A uvicorn serving a control-plane app on an ephemeral loopback port, in the test's event loop.

The one way the specs run the real server in-process (:func:`conftest.running_server`,
:func:`store_support.store_server`, and the simulator's ``test_against_control_plane``): readiness is polled
with a deadline, and the server is shut down gracefully on exit unless it was crashed (:meth:`Serving.crash`).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from wattcap.server.app import uvicorn_config
from wattcap.server.settings import Settings

TIMEOUT = 10.0


@dataclass
class Serving:
    """A running uvicorn: the port it listens on, the server and the task serving it."""

    port: int
    server: uvicorn.Server
    task: asyncio.Task
    crashed: bool = False

    async def crash(self) -> None:
        """Stop as a killed process would: stop listening, drop every TCP connection without a WebSocket close
        frame, abandon the requests being handled. Nothing runs uvicorn's graceful shutdown."""
        self.crashed = True
        self.task.cancel()
        with suppress(asyncio.CancelledError):
            await self.task
        for listener in getattr(self.server, "servers", []):
            listener.close()
        for connection in list(self.server.server_state.connections):
            connection.transport.abort()
        handlers = list(self.server.server_state.tasks)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


@asynccontextmanager
async def serving(app: FastAPI, settings: Settings, timeout: float = TIMEOUT) -> AsyncIterator[Serving]:
    """Serve ``app`` (configured as ``wattcap serve`` would from ``settings``) until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, settings, host="127.0.0.1", port=port, log_level="warning"))
    running = Serving(port, server, asyncio.create_task(server.serve(sockets=[sock])))
    try:
        async with asyncio.timeout(timeout):
            while not server.started:
                if running.task.done():
                    running.task.result()
                await asyncio.sleep(0.01)
        yield running
    finally:
        if not running.crashed:
            server.should_exit = True
            try:
                await asyncio.wait_for(running.task, timeout)
            except TimeoutError:
                server.force_exit = True
                running.task.cancel()
        sock.close()
