"""Network guard for tests: any socket use outside loopback fails, and is logged.

Put this folder on ``PYTHONPATH`` and Python imports it at start-up in every process that
inherits the environment: the ``compendium`` CLI, the Jupyter kernels papermill starts,
``jupyter-book``. It patches :mod:`socket` so that

* ``connect``/``connect_ex``/``sendto``/``sendmsg`` to an address that is not loopback
  (127.0.0.0/8, ::1, ``localhost``) or a Unix socket raise :class:`NetworkBlocked`;
* ``getaddrinfo``/``gethostbyname`` of a name other than loopback or this machine's own
  name (a DNS query) raise it too; address literals resolve (no query is sent) and are
  then stopped at ``connect``.

Every attempt is appended, one line each, to the file named by ``$NETGUARD_LOG`` (when
set), so a test can assert that nothing tried even if the caller swallowed the error.
Limits: C libraries that open sockets themselves (libzmq, libcurl) are not seen; the
kernels' ZeroMQ channels are loopback TCP opened by libzmq.
"""

from __future__ import annotations

import ipaddress
import os
import socket

_LOG = os.environ.get("NETGUARD_LOG", "")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}


class NetworkBlocked(OSError):
    """A socket connection outside loopback was attempted while the guard is on."""


def _record(kind: str, target: object) -> None:
    if _LOG:
        try:
            with open(_LOG, "a", encoding="utf-8") as handle:
                handle.write(f"{os.getpid()} {kind} {target!r}\n")
        except OSError:
            pass


def _own_names() -> set[str]:
    names = set(_LOCAL_NAMES)
    try:
        names.add(_real_gethostname().lower())
    except OSError:
        pass
    return names


def _is_loopback_host(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%", 1)[0].lower()
    if host in _own_names():
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _allowed(family: int, address: object) -> bool:
    if family == getattr(socket, "AF_UNIX", object()) or isinstance(address, str | bytes):
        return True
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
        except ValueError:
            return _is_loopback_host(host)
    return False


def _blocked(kind: str, target: object) -> NetworkBlocked:
    _record(kind, target)
    return NetworkBlocked(f"netguard: network access blocked during tests ({kind} {target!r})")


_real_gethostname = socket.gethostname
_real_getaddrinfo = socket.getaddrinfo
_real_gethostbyname = socket.gethostbyname
_Socket = socket.socket
_real_connect = _Socket.connect
_real_connect_ex = _Socket.connect_ex
_real_sendto = _Socket.sendto
_real_sendmsg = getattr(_Socket, "sendmsg", None)


def _connect(self, address):
    if not _allowed(self.family, address):
        raise _blocked("connect", address)
    return _real_connect(self, address)


def _connect_ex(self, address):
    if not _allowed(self.family, address):
        raise _blocked("connect", address)
    return _real_connect_ex(self, address)


def _sendto(self, data, *args):
    address = args[-1]
    if not _allowed(self.family, address):
        raise _blocked("sendto", address)
    return _real_sendto(self, data, *args)


def _sendmsg(self, buffers, ancdata=(), flags=0, address=None):
    if address is not None and not _allowed(self.family, address):
        raise _blocked("sendmsg", address)
    if address is None:
        return _real_sendmsg(self, buffers, ancdata, flags)
    return _real_sendmsg(self, buffers, ancdata, flags, address)


def _is_address(host: object) -> bool:
    """An IP address literal: resolving it sends no DNS query."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    try:
        ipaddress.ip_address(str(host).strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def _getaddrinfo(host, *args, **kwargs):
    if not (_is_loopback_host(host) or _is_address(host)):
        raise _blocked("getaddrinfo", host)
    return _real_getaddrinfo(host, *args, **kwargs)


def _gethostbyname(host):
    if not (_is_loopback_host(host) or _is_address(host)):
        raise _blocked("gethostbyname", host)
    return _real_gethostbyname(host)


def install() -> None:
    """Patch :mod:`socket` (idempotent)."""
    _Socket.connect = _connect
    _Socket.connect_ex = _connect_ex
    _Socket.sendto = _sendto
    if _real_sendmsg is not None:
        _Socket.sendmsg = _sendmsg
    socket.getaddrinfo = _getaddrinfo
    socket.gethostbyname = _gethostbyname
    os.environ["NETGUARD_ACTIVE"] = "1"


install()
