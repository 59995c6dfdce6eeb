"""The address guard: no fetch reaches a loopback, private, link-local (cloud metadata),
multicast, reserved or otherwise non-public address, unless the operator allows it.

The check is made where the connection is opened, on the address actually connected to: the host
is resolved once, each address checked, and the socket connected to a checked address, so a DNS
answer that changes between a check and the connect (DNS rebinding) cannot slip past, and every
redirect is checked the same way (it opens its own connection). httpx runs on an httpcore
connection pool; this transport gives that pool a network backend that does the above.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Policy = Callable[[IPAddress], str | None]  # why an address is refused, or None


class AddressRefused(Exception):
    """The host resolves only to addresses that are not fetched; the message says which and why."""


def refusal(ip: IPAddress) -> str | None:
    """Why `ip` is not fetched, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address (cloud metadata lives there)"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private address"),
        (not ip.is_global, "not a public address"),
    )
    return next((why for hit, why in checks if hit), None)


class GuardedBackend(httpcore.SyncBackend):
    """Resolves the host once, refuses the addresses `policy` names (unless `allow_private`),
    and connects to the first checked address that answers."""

    def __init__(self, allow_private: bool = False, policy: Policy = refusal) -> None:
        self.allow_private = allow_private
        self.policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as e:
            raise httpcore.ConnectError(f"cannot resolve {host}: {e.strerror or e}") from e
        allowed: list[tuple[Any, ...]] = []
        refused: list[tuple[Any, ...]] = []
        for family, kind, proto, _, sockaddr in infos:
            why = None if self.allow_private else self.policy(ipaddress.ip_address(sockaddr[0]))
            (refused if why else allowed).append((family, kind, proto, sockaddr, why))
        if not allowed:
            _, _, _, sockaddr, why = refused[0]
            shown = host if host == sockaddr[0] else f"{host} ({sockaddr[0]})"
            raise AddressRefused(f"refused: {shown} is {why}; set QA_FETCH_ALLOW_PRIVATE=true to allow it")
        error: httpcore.ConnectError | None = None
        for *_, sockaddr, _ in allowed:  # connect to the checked address itself: no second lookup
            try:
                return super().connect_tcp(sockaddr[0], port, timeout, local_address, socket_options)
            except httpcore.ConnectError as e:
                error = e
        raise httpcore.ConnectError(f"cannot connect to {host}: {error}")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport (its request, response and error mapping), with the pool's network
    backend replaced by the guard. No proxies and no .netrc from the environment (trust_env off):
    a proxy would be the address connected to, not the host asked for."""

    def __init__(self, allow_private: bool = False, max_connections: int = 8, policy: Policy = refusal) -> None:
        ssl_context = httpx.create_ssl_context(trust_env=False)  # loading the CA store costs ~40 ms: once
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow_private, policy),
        )
