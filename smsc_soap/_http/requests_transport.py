"""The previous sync transport, on requests: kept to measure against and as a fallback; clients use
:class:`~smsc_soap._http.sync_transport.SyncTransport` (its own sockets, urllib3 for proxies).

It has the same limits, deadline watchdog and error mapping, and already skips what requests does per
call that this client never needs: the session's ``request()`` (settings merging, environment scans,
cookie and hook handling). Each call copies a request prepared once per URL and hands it to the adapter.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter

from .._exceptions import Delivery, SmscDeadlineExceededError, SmscTransportError
from .redact import Envelope, forget_locals
from .sync_transport import _current, map_urllib3_error, past_deadline, pool_classes, read_body
from .types import USER_AGENT, RawReply, TransportConfig
from .watchdog import WATCHDOG

__all__ = ["RequestsTransport"]


class _Adapter(HTTPAdapter):
    """requests' adapter with connection classes that respect the call deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = pool_classes()

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = pool_classes()
        return manager


class RequestsTransport:
    """Posts envelopes with requests' adapter, within the configured limits; thread-safe."""

    def __init__(self, config: TransportConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._adapter: _Adapter | None = None
        self._prepared: dict[str, requests.PreparedRequest] = {}
        self._pid = os.getpid()
        self.closed = False

    def __repr__(self) -> str:
        return f"RequestsTransport(deadline={self.config.deadline}s)"

    def _get_adapter(self) -> _Adapter:
        adapter = self._adapter
        if adapter is not None and self._pid == os.getpid():
            return adapter
        with self._lock:
            if self._adapter is None or self._pid != os.getpid():
                # After a fork the parent's pooled sockets must not be used (nor closed) here.
                self._adapter = _Adapter(
                    pool_connections=4,  # one pool per host: the primary and its mirrors
                    pool_maxsize=self.config.max_connections,
                    pool_block=True,
                    max_retries=urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0),
                )
                self._prepared = {}
                self._pid = os.getpid()
            return self._adapter

    def _template(self, url: str) -> requests.PreparedRequest:
        template = self._prepared.get(url)
        if template is None:
            template = requests.Request(
                "POST",
                url,
                headers={
                    "User-Agent": USER_AGENT,
                    "Accept-Encoding": "identity",
                    "Connection": "keep-alive",
                },
            ).prepare()
            self._prepared[url] = template
        return template

    def close(self) -> None:
        """Close pooled connections."""
        self.closed = True
        with self._lock:
            if self._adapter is not None and self._pid == os.getpid():
                self._adapter.close()
            self._adapter = None

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str], deadline_at: float
    ) -> RawReply:
        """POST ``body`` and return the reply, or raise a mapped SmscTransportError."""
        envelope = Envelope(body)
        body = b""  # from here on only the redacted envelope is a local of this frame
        try:
            return self._post(url, envelope, headers, deadline_at)
        except BaseException as exc:
            forget_locals(exc)
            raise

    def _post(
        self, url: str, envelope: Envelope, headers: Mapping[str, str], deadline_at: float
    ) -> RawReply:
        remaining = deadline_at - time.monotonic()
        if remaining <= 0:
            raise SmscDeadlineExceededError(
                "the call's total deadline passed before the request was sent",
                delivery=Delivery.NOT_SENT,
                retry_safe=False,
            )
        cfg = self.config
        adapter = self._get_adapter()
        request = self._template(url).copy()
        request.headers.update(headers)
        request.prepare_body(envelope.reveal(), None)
        error: SmscTransportError | None = None
        _current.deadline_at = deadline_at
        _current.tokens = []
        _current.written = False
        try:
            try:
                response = adapter.send(
                    request,
                    stream=True,
                    timeout=(min(cfg.connect_timeout, remaining), min(cfg.read_timeout, remaining)),
                    verify=cfg.ca_bundle or True,
                    proxies=cfg.proxies,
                )
            except Exception as exc:  # mapped below, outside the handler: no raw cause is chained
                mapped = map_urllib3_error(exc, after_headers=_current.written)
                error = past_deadline(mapped, deadline_at, cfg.deadline)
            if error is not None:
                raise error
            try:
                status = response.status_code
                reply_headers = {k.lower(): v for k, v in response.headers.items()}
                data = read_body(response.raw, status, reply_headers, cfg, deadline_at)
                return RawReply(status, reply_headers, data, url)
            finally:
                response.close()
        finally:
            for token in _current.tokens:
                WATCHDOG.disarm(token)
            _current.deadline_at = None
            _current.tokens = []
