"""The optional virus check: when `CLAMD_SOCKET` is set (a Unix socket path, or tcp://host:port),
every upload is streamed to clamd (its INSTREAM command, in 64 KB chunks) before it can be
served. Any answer but "OK" — a virus found, an error, a timeout, clamd not answering — keeps the
file quarantined: it is stored (staff can see it was refused) but never served.

`scan(fileobj)` returns (status, note) with status "clean" or "quarantined". Without the
setting it returns ("clean", "not scanned").
"""

import socket
import struct

from django.conf import settings

CHUNK = 64 * 1024


def _connect(address: str, timeout: float) -> socket.socket:
    if address.startswith("tcp://"):
        host, _, port = address.removeprefix("tcp://").rpartition(":")
        return socket.create_connection((host, int(port)), timeout=timeout)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(address)
    return sock


def scan(fileobj) -> tuple[str, str]:
    address = getattr(settings, "CLAMD_SOCKET", "") or ""
    if not address:
        return "clean", "not scanned"
    timeout = getattr(settings, "CLAMD_TIMEOUT", 30)
    try:
        with _connect(address, timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            fileobj.seek(0)
            while chunk := fileobj.read(CHUNK):
                sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0") and len(reply) < 1024:
                part = sock.recv(1024)
                if not part:
                    break
                reply += part
    except (OSError, ValueError) as exc:
        return "quarantined", f"virus check failed: {type(exc).__name__}"[:200]
    finally:
        fileobj.seek(0)
    answer = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if answer.endswith(": OK"):
        return "clean", "scanned: OK"
    return "quarantined", f"virus check: {answer or 'no answer'}"[:200]
