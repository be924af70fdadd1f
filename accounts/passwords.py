"""Passwords: reset by email (Django's views and tokens) and change.

A new password ends everything the old one opened: the other sessions (Django compares each
session's copy of the password hash on every request, and the inbox's socket does too), and every
JWT issued before it (they carry a digest of the hash: accounts.tokens). A reset link works once
(its token is made from the password hash, which the reset changes) and for PASSWORD_RESET_TIMEOUT
seconds; it logs nobody in, so two-factor login still asks for its code."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.template.loader import render_to_string

from accounts.audit import audit_record_for_member
from accounts.login import login_unlock
from accounts.login_sessions import login_session_record
from accounts.models import AuditAction, User
from accounts.tasks import email_send_queue


class PasswordResetForm(DjangoPasswordResetForm):
    """Django's, with the link built on PUBLIC_BASE_URL (never on the Host of the request that
    asked for it), and the mail sent by a Celery worker (accounts.tasks): the answer takes as
    long whether the account exists or not."""

    def send_mail(self, subject_template_name: str, email_template_name: str, context: dict[str, Any],
                  from_email: str | None, to_email: str, html_email_template_name: str | None = None) -> None:
        context = {**context, "base_url": settings.PUBLIC_BASE_URL}
        # Rendered here, in the language of the request.
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        email_send_queue(subject=subject, body=render_to_string(email_template_name, context), to=to_email,
                         from_email=from_email)


def password_reset_complete(*, user: User) -> None:
    """After a reset by email: whoever proved they read the account's mail may log in at once,
    even if someone else's wrong guesses locked the account."""
    login_unlock(email=user.email)
    audit_record_for_member(user=user, action=AuditAction.PASSWORD_RESET, actor=user)


def password_changed(*, user: User, session_key: str | None = None) -> None:
    """The user changed their own password (their other sessions and tokens already ended); the
    session they did it in goes on under a new key (`session_key`), recorded as their login."""
    login_session_record(user=user, session_key=session_key)
    audit_record_for_member(user=user, action=AuditAction.PASSWORD_CHANGED, actor=user)
