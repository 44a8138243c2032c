"""A small FHIR-accepting HTTP endpoint for the push tests: it records every POST (path,
headers, body) and answers with the next status of a script (the last one repeats)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeFhirServer:
    statuses: list[int]
    received: list[Received] = field(default_factory=list)
    base_url: str = ""

    def next_status(self) -> int:
        index = min(len(self.received) - 1, len(self.statuses) - 1)
        return self.statuses[index]


def _handler(server: FakeFhirServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            server.received.append(Received(self.path, dict(self.headers), body))
            status = server.next_status()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            if status == 201:
                self.send_header(
                    "Location", f"{server.base_url}/Bundle/{len(server.received)}/_history/1"
                )
                payload = b'{"resourceType":"Bundle"}'
            else:
                payload = (
                    b'{"resourceType":"OperationOutcome","issue":[{"severity":"error",'
                    b'"code":"exception","diagnostics":"store unavailable"}]}'
                )
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def fhir_server(statuses: list[int]) -> Iterator[FakeFhirServer]:
    fake = FakeFhirServer(statuses)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{httpd.server_port}/fhir"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()
