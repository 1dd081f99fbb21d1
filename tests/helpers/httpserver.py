"""pytest-httpserver's server, stopped at once instead of after up to half a second."""

from __future__ import annotations

from pytest_httpserver import HTTPServer


class QuickStopHTTPServer(HTTPServer):
    """An HTTPServer whose serving loop checks for stop() every 10 ms (werkzeug's default: 500 ms)."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.01)
