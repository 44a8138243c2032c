"""Django's development server without the 40 ms stall on keep-alive connections.

Django's runserver (wsgiref underneath) writes the status line and headers, then the body, as
separate send() calls on an unbuffered socket. On a reused connection Nagle's algorithm holds
the body back until the client ACKs the headers, and the client delays that ACK by ~40 ms:
every response with a body on a keep-alive connection then waits ~40 ms (500 thumbnails of a
case took 24 s instead of 1.8 s). Setting TCP_NODELAY on each accepted socket sends every write
at once; rewriting wsgiref's handler to coalesce the writes would be a much larger patch to
code we do not own. gunicorn needs no such fix: it sets TCP_NODELAY on its listening socket,
which Linux copies onto every accepted one (tests/ops/test_keepalive.py checks both servers).
"""

from __future__ import annotations

import socket
from typing import Any

from django.core.servers.basehttp import WSGIServer


def set_nodelay(sock: socket.socket) -> None:
    """TCP_NODELAY on a TCP socket; a Unix socket has no Nagle to turn off."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayWSGIServer(WSGIServer):
    """Django's WSGIServer whose accepted connections send each write at once."""

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        set_nodelay(sock)
        return sock, address
