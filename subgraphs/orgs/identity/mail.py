"""Outgoing mail over SMTP (stdlib smtplib in a worker thread: a mail is rare and small).
`B2B_ORGS_SMTP_*` settings; STARTTLS and login when configured."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from subgraphs.orgs.identity.config import IdentitySettings


def _send(settings: IdentitySettings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(message)


async def send(settings: IdentitySettings, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    await asyncio.to_thread(_send, settings, message)
