"""The client's address behind the lab's TLS proxy, for login throttling (django-axes).

Behind a proxy REMOTE_ADDR is the proxy's, so a lock-out by (user name, address) would lock that
user name for everyone. Each trusted proxy appends the address it saw to X-Forwarded-For; with
TRUSTED_PROXY_COUNT proxies, the client is the entry that many from the right. Entries further
left come from the client and are not trusted (a forged header cannot pick another's address).
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str:
    remote = str(request.META.get("REMOTE_ADDR", ""))
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    if len(hops) < count:
        return remote  # not through the expected proxies: the direct peer is all we know
    candidate = hops[-count]
    try:
        return str(ip_address(candidate))
    except ValueError:
        return remote
