"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the e-mail tests."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import free_port


@dataclass
class Received:
    """One message as the server got it: envelope and parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes = b""

    def raw_headers(self, name: str) -> list[str]:
        """A header's values exactly as sent (unfolded, nothing decoded): what a mail client parses."""
        parsed = email.message_from_bytes(self.raw, policy=email.policy.compat32)
        return [" ".join(str(v).split()) for v in parsed.get_all(name) or []]

    @property
    def text(self) -> str:
        """The text/plain body."""
        body = self.message.get_body(("plain",))
        assert body is not None
        return str(body.get_content())


@dataclass
class Inbox:
    """An aiosmtpd handler: keeps every accepted message; can refuse recipients or whole messages."""

    url: str = ""
    port: int = 0
    messages: list[Received] = field(default_factory=list)
    #: Address → SMTP reply to RCPT TO (e.g. "550 5.1.1 no such user").
    refuse: dict[str, str] = field(default_factory=dict)
    #: Reply to DATA instead of accepting (e.g. "451 4.3.0 try again later").
    data_reply: str | None = None
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, envelope.content))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        """The messages sent to one address."""
        return [m for m in self.messages if address in m.rcpt_tos]


@contextmanager
def running_inbox(port: int | None = None, *, credentials: tuple[str, str] | None = None) -> Iterator[Inbox]:
    """Start an SMTP server on 127.0.0.1 (a free port unless given); stop it when the block ends.

    With `credentials`, the server asks for AUTH (without TLS: this is loopback) and checks them.
    """
    inbox = Inbox()
    options: dict[str, Any] = {}
    if credentials is not None:
        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            if isinstance(data, LoginPassword):
                user, password = data.login.decode(), data.password.decode()
                inbox.logins.append((user, password))
                return AuthResult(success=(user, password) == credentials)
            return AuthResult(success=False)

        options = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), **options)
    controller.start()
    inbox.port = controller.port
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[Inbox]:
    """A real SMTP server on loopback collecting what it is sent."""
    with running_inbox() as inbox:
        yield inbox


@contextmanager
def dripping_server() -> Iterator[str]:
    """A server that greets forever, one continuation line at a time (each in time, the whole never):
    only an overall deadline ends a conversation with it. Yields its smtp:// URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                while not stop.is_set():
                    try:
                        connection.sendall(b"220-still thinking\r\n")
                    except OSError:
                        break
                    stop.wait(0.05)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield f"smtp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()
