"""SMTP for e-mail alerts: the server named by `smtp_url`, messages built with the email package, and
conversations that never outlive their deadline.

`smtp_url` is ``smtp://[user:password@]host[:port][?starttls=1][&timeout=S]`` (port 25, or 587 with
STARTTLS) or ``smtps://[user:password@]host[:port]`` (TLS from the first byte, port 465). Credentials
are percent-decoded. ``timeout`` (seconds, default 30) bounds each step of a conversation (opening
it, and each message sent over it) *in all*: a timer shuts the socket when the time is up, so a server
that answers one byte at a time cannot hold a sender.
"""

from __future__ import annotations

import email.policy
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from portal.alerts.outbox import Outcome
from portal.errors import ConfigError

#: Seconds each step of an SMTP conversation may take in all, unless `smtp_url` says ``?timeout=``.
DEFAULT_TIMEOUT = 30.0
#: Characters of the server's answer kept in the delivery log.
EXCERPT = 500
#: CRLF line ends, and header lines folded only past RFC 5322's hard limit: the default (78) would turn
#: a long List-Unsubscribe URL, which has no space to fold at, into an RFC 2047 encoded word that
#: mail clients do not read as a link.
_POLICY = email.policy.SMTP.clone(max_line_length=998)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to submit mail: host, port, TLS mode, credentials and the deadline of each step."""

    host: str
    port: int
    tls: str  # "none" | "starttls" | "ssl"
    username: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT


def parse_smtp_url(url: str) -> SmtpServer:
    """The server an ``smtp://`` or ``smtps://`` URL names; ConfigError for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(f"smtp_url must start with smtp:// or smtps://, not {url.split(':', 1)[0]!r}")
    if not parts.hostname:
        raise ConfigError("smtp_url names no host")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("smtp_url has an invalid port") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = set(query) - {"starttls", "timeout"}
    if unknown:
        raise ConfigError(f"smtp_url: unknown parameter(s) {', '.join(sorted(unknown))} (known: starttls, timeout)")
    starttls = _flag(query.get("starttls", ["0"])[-1])
    if parts.scheme == "smtps" and starttls:
        raise ConfigError("smtp_url: smtps:// is TLS already; use smtp://…?starttls=1 for STARTTLS")
    try:
        timeout = float(query.get("timeout", [str(DEFAULT_TIMEOUT)])[-1])
    except ValueError:
        raise ConfigError("smtp_url: timeout must be a number of seconds") from None
    if not 0 < timeout <= 600:
        raise ConfigError("smtp_url: timeout must be between 0 and 600 seconds")
    tls = "ssl" if parts.scheme == "smtps" else "starttls" if starttls else "none"
    default_port = {"ssl": 465, "starttls": 587, "none": 25}[tls]
    return SmtpServer(parts.hostname, port or default_port, tls,
                      unquote(parts.username) if parts.username is not None else None,
                      unquote(parts.password) if parts.password is not None else None, timeout)


def _flag(value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(f"smtp_url: starttls must be 1 or 0, not {value!r}")


def build_message(sender: str, to: str, subject: str, text: str, *, message_id: str | None = None,
                  unsubscribe_url: str | None = None, domain: str | None = None,
                  now: datetime | None = None) -> EmailMessage:
    """A text/plain message (policy SMTP: CRLF, folded headers), with RFC 8058 one-click headers when
    `unsubscribe_url` is given."""
    message = EmailMessage(policy=_POLICY)
    try:
        message["From"] = sender
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"mail_from is not an address: {sender!r}") from exc
    message["To"] = Address(addr_spec=to)
    message["Subject"] = " ".join(subject.split())  # one line: a title's line breaks must not end the header
    message["Date"] = format_datetime((now or datetime.now(timezone.utc)).astimezone(timezone.utc))
    message["Message-ID"] = message_id or make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    return message


class _Deadline:
    """Shuts a connection's socket once `seconds` have passed, so no step outlives its deadline."""

    def __init__(self, client: smtplib.SMTP, seconds: float) -> None:
        self.client = client
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        sock = self.client.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _excerpt(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return text[:EXCERPT]


def _failure(code: int | None, reply: bytes | str, started: float, *, what: str) -> Outcome:
    """A refusal of a recipient or a message as an outcome: 4xx transient, 5xx permanent."""
    text = _excerpt(reply)
    permanent = code is not None and 500 <= code < 600
    return Outcome(False, status_code=code, error=f"SMTP {code or '?'} {what}: {text}".strip(),
                   permanent=permanent, response_excerpt=text, duration_ms=_ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


class SmtpSession:
    """One SMTP conversation: opened once, many messages sent over it, each step bounded."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self.client: smtplib.SMTP | None = None

    def open(self) -> None:
        """Connect, say hello, secure and log in (all within one deadline); OSError/SMTPException on failure."""
        server = self.server
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if server.tls == "ssl":
            client = smtplib.SMTP_SSL(timeout=server.timeout, context=context)
        else:
            client = smtplib.SMTP(timeout=server.timeout)
        # Connecting after construction keeps the greeting inside our deadline, but then smtplib does not
        # know which host TLS must verify: it only records the host given at construction.
        client._host = server.host  # type: ignore[attr-defined]
        self.client = client
        with _Deadline(client, server.timeout) as deadline:
            try:
                client.connect(server.host, server.port)
                client.ehlo_or_helo_if_needed()
                if server.tls == "starttls":
                    client.starttls(context=context)
                    client.ehlo()
                if server.username is not None:
                    client.login(server.username, server.password or "")
            except (OSError, smtplib.SMTPException):
                self.close()
                if deadline.expired:
                    raise TimeoutError(f"the SMTP server did not answer within {server.timeout:g} s") from None
                raise

    def send(self, message: EmailMessage) -> Outcome:
        """Send one message; an outcome either way (the session is closed after a broken connection)."""
        started = time.monotonic()
        if self.client is None:
            return Outcome(False, error="SMTP connection is closed", duration_ms=0)
        client = self.client
        with _Deadline(client, self.server.timeout) as deadline:
            try:
                refused = client.send_message(message)
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()), (None, b"recipient refused"))
                return _failure(code, reply, started, what="recipient refused")
            except smtplib.SMTPSenderRefused as exc:  # about our side (mail_from, TLS, auth): fixable, so retried
                text = _excerpt(exc.smtp_error)
                return Outcome(False, status_code=exc.smtp_code, error=f"SMTP {exc.smtp_code} sender refused: {text}",
                               response_excerpt=text, duration_ms=_ms(started))
            except smtplib.SMTPNotSupportedError as exc:
                return Outcome(False, error=f"SMTP: {exc}", permanent=True, duration_ms=_ms(started))
            except (ValueError, UnicodeError) as exc:  # the message cannot be written out: sending again won't help
                return Outcome(False, error=f"the e-mail could not be written: {exc}", permanent=True,
                               duration_ms=_ms(started))
            except smtplib.SMTPServerDisconnected as exc:
                self.close()
                why = f"no answer within {self.server.timeout:g} s" if deadline.expired else str(exc)
                return Outcome(False, error=f"SMTP connection lost: {why}", duration_ms=_ms(started))
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code == 421:  # the server is closing the connection
                    self.close()
                return _failure(exc.smtp_code, exc.smtp_error, started, what="refused the message")
            except (OSError, smtplib.SMTPException) as exc:
                self.close()
                why = f"no answer within {self.server.timeout:g} s" if deadline.expired else str(exc)
                return Outcome(False, error=f"SMTP: {type(exc).__name__}: {why}", duration_ms=_ms(started))
        if refused:  # only with several recipients; ours have one, but be exact
            code, reply = next(iter(refused.values()))
            return _failure(code, reply, started, what="recipient refused")
        return Outcome(True, status_code=250, duration_ms=_ms(started))

    def close(self) -> None:
        """End the conversation politely if possible; never raises."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if client.sock is not None:
                with _Deadline(client, min(self.server.timeout, 5.0)):
                    client.quit()
        except (OSError, smtplib.SMTPException):
            pass
        finally:
            client.close()


def send_all(server: SmtpServer, messages: Sequence[EmailMessage]) -> list[Outcome]:
    """Send messages over as few conversations as possible; one outcome per message, in order.

    A server that cannot be reached fails every message still to send (transiently); a connection
    lost in the middle is opened again once for the rest.
    """
    outcomes: list[Outcome] = []
    session = SmtpSession(server)
    reopened = False
    try:
        for message in messages:
            if session.client is None:
                started = time.monotonic()
                try:
                    session.open()
                except (OSError, smtplib.SMTPException) as exc:
                    failed = Outcome(False, error=f"SMTP server {server.host}:{server.port} unavailable: "
                                     f"{type(exc).__name__}: {exc}", duration_ms=_ms(started))
                    outcomes += [failed] * (len(messages) - len(outcomes))
                    return outcomes
                if outcomes:
                    reopened = True
            outcome = session.send(message)
            outcomes.append(outcome)
            if session.client is None and reopened:  # lost twice: leave the rest for the next round
                rest = Outcome(False, error="SMTP connection lost twice; the rest is left for later")
                outcomes += [rest] * (len(messages) - len(outcomes))
                return outcomes
    finally:
        session.close()
    return outcomes
