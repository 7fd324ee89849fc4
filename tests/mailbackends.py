"""Mail backends for tests: a server that fails a given number of times then works, one that
records every delivery in a file (so a worker in another process can be counted), and a plain
socket that accepts and never answers (a hanging SMTP server)."""

import json
import os
import socket
import threading
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class FlakyBackend(LocmemBackend):
    """Raises for the first `FlakyBackend.failures` sends (across connections), then delivers
    to django.core.mail.outbox like the locmem backend."""

    failures = 0
    attempts = 0

    def send_messages(self, messages):
        type(self).attempts += 1
        if type(self).attempts <= type(self).failures:
            raise ConnectionRefusedError(111, "Connection refused (the test's mail server is down)")
        return super().send_messages(messages)


class RecordingFileBackend(BaseEmailBackend):
    """Appends one JSON line per delivered message to $MAIL_RECORD_PATH."""

    def send_messages(self, messages):
        path = Path(os.environ["MAIL_RECORD_PATH"])
        with path.open("a", encoding="utf-8") as out:
            for message in messages:
                out.write(json.dumps({"subject": message.subject, "to": message.to}) + "\n")
        return len(messages)


def recorded(path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


class HangingServer:
    """Listens on a free port, accepts connections and never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._held = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self._held:
            conn.close()
