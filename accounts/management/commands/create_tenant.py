"""Create a tenant and its first administrator.

    manage.py create_tenant --name "Acme" --slug acme --admin-email ana@acme.com [--admin-name "Ana"]
        [--admin-password ...] [--status ACTIVE] [--max-channels N --max-agents N --max-messages N]

A new user gets the password given, or one typed at the prompt, or a generated one that is
printed once. An existing user is made administrator as they are: their password is never
changed or shown.
"""

from __future__ import annotations

import getpass
import secrets
import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction
from django.utils.text import slugify

from accounts.models import Role, User
from accounts.services import membership_create, user_create
from config.errors import ApplicationError
from tenants.models import Tenant
from tenants.services import tenant_create


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Create a tenant and its first TENANT_ADMIN (a new user, or an existing one by email)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The company's name, e.g. \"Acme Comércio Ltda\".")
        parser.add_argument("--slug", default="", help="Subdomain and identifier; defaults to the name, slugified.")
        parser.add_argument("--admin-email", required=True, help="The first administrator's email.")
        parser.add_argument("--admin-name", default="", help="The administrator's full name (new users only).")
        parser.add_argument(
            "--admin-password", default=None,
            help="Password of a new administrator. Without it, you are asked for one, or one is generated "
                 "and printed when there is no terminal (or with --no-input).",
        )
        parser.add_argument("--status", default=Tenant.Status.TRIAL, choices=Tenant.Status.values,
                            help="Initial status (default TRIAL).")
        parser.add_argument("--max-channels", type=_non_negative, default=None, help="Channel limit (0: unlimited).")
        parser.add_argument("--max-agents", type=_non_negative, default=None, help="Agent seat limit (0: unlimited).")
        parser.add_argument("--max-messages", type=_non_negative, default=None,
                            help="Monthly message limit (0: unlimited).")
        parser.add_argument("--no-input", "--noinput", action="store_false", dest="interactive",
                            help="Never prompt: generate the password of a new administrator if none is given.")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"].strip()
        slug = slugify(options["slug"] or name)
        email = User.objects.normalize_email(options["admin_email"].strip()).lower()
        if not name:
            raise CommandError("--name must not be empty.")
        if not slug:
            raise CommandError("Give a --slug made of letters, digits or hyphens.")
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{options['admin_email']!r} is not a valid email address.") from None
        if Tenant.objects.filter(slug=slug).exists():
            raise CommandError(f"The slug {slug!r} is taken. Choose another with --slug.")
        limits = {
            field: options[option]
            for field, option in (("max_channels", "max_channels"), ("max_agents", "max_agents"),
                                  ("max_messages_per_month", "max_messages"))
            if options[option] is not None
        }

        user = User.objects.filter(email=email).first()
        password, generated = None, False
        if user is None:
            password, generated = self._new_password(email=email, full_name=options["admin_name"],
                                                     given=options["admin_password"],
                                                     interactive=options["interactive"])
        elif options["admin_password"] is not None:
            self.stderr.write(f"{email} already exists: --admin-password ignored, their password is unchanged.")

        try:
            with transaction.atomic():
                tenant = tenant_create(name=name, slug=slug, status=options["status"], **limits)
                new_user = user is None
                if user is None:
                    user = user_create(email=email, password=password, full_name=options["admin_name"].strip())
                membership_create(tenant=tenant, user=user, role=Role.TENANT_ADMIN)
        except ApplicationError as error:
            raise CommandError(error.message) from error

        self.stdout.write(self.style.SUCCESS(
            f"Created tenant {tenant.slug!r} ({tenant.name}, {tenant.status}; limits: "
            f"{self._limit(tenant.max_channels)} channels, {self._limit(tenant.max_agents)} agents, "
            f"{self._limit(tenant.max_messages_per_month)} messages a month)."
        ))
        if new_user:
            self.stdout.write(f"Created user {user.email} as {Role.TENANT_ADMIN}.")
            if generated:
                self.stdout.write(f"Generated password (shown only now): {password}")
        else:
            self.stdout.write(f"Made the existing user {user.email} {Role.TENANT_ADMIN}; their password is unchanged.")

    @staticmethod
    def _limit(value: int) -> str:
        return str(value) if value else "unlimited"

    def _new_password(self, *, email: str, full_name: str, given: str | None, interactive: bool) -> tuple[str, bool]:
        """The new administrator's password and whether it was generated."""
        password = given
        if password is None and interactive and sys.stdin.isatty():
            password = getpass.getpass(f"Password for {email} (empty: generate one): ")
            if password and password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        if not password:
            return secrets.token_urlsafe(12), True
        try:
            validate_password(password, User(email=email, full_name=full_name))
        except ValidationError as error:
            raise CommandError("The password is not accepted: " + " ".join(error.messages)) from None
        return password, False
