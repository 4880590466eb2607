"""The control-plane server (CSMS): OCPP 1.6J and 2.0.1 charge points connect here over WebSocket.

Entry points: :func:`wattcap.server.app.create_app`, :class:`wattcap.server.stations.StationRegistry`,
:class:`wattcap.server.backend.StationBackend` / :class:`wattcap.server.backend.InMemoryBackend` /
:class:`wattcap.server.backend_store.StoreBackend` (the database),
:class:`wattcap.server.settings.Settings`.
"""
