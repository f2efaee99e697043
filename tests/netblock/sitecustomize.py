"""Block network access in every Python process the test suite starts.

``tests/conftest.py`` puts this folder on ``PYTHONPATH`` and sets
``COURSE_BLOCK_NETWORK=1``, so Jupyter kernels started by nbval and by the grader
import this module at start-up (Python imports ``sitecustomize`` automatically).
Loopback stays open: kernels talk to their clients over it (ZeroMQ uses its own C
sockets, but JupyterLab and the browser test use Python's). Anything else raises
:class:`NetworkBlocked` with a message that says why, so a notebook that tries to
download data fails loudly in CI instead of depending on the network.
"""
import ipaddress
import os
import socket


class NetworkBlocked(OSError):
    pass


def _is_local(host) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False  # a host name other than localhost
    return address.is_loopback or address.is_unspecified


def _refuse(target):
    raise NetworkBlocked(f"network access is disabled while the course's tests run (tried {target!r}); "
                         "the course must never download anything: use bundled or generated data")


def install() -> None:
    if getattr(socket, "_course_blocked", False):
        return
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            _refuse(address)
        return connect(self, address)

    def guarded_connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            _refuse(address)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if not _is_local(host.decode() if isinstance(host, bytes) else host):
            _refuse(host)
        return getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = guarded_connect
    socket.socket.connect_ex = guarded_connect_ex
    socket.getaddrinfo = guarded_getaddrinfo
    socket._course_blocked = True


if os.environ.get("COURSE_BLOCK_NETWORK") == "1":
    install()
