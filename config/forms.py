"""What the settings pages' forms share (generic: no app is imported)."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from config.errors import ApplicationError


def form_errors_place(form: forms.Form, failure: ApplicationError, *, fields: Mapping[str, str] | None = None) -> None:
    """A service's refusal shown on the form: each problem on its field (a detail's name mapped
    through `fields` where the form calls it otherwise), or the message above the form."""
    placed = False
    for detail, problems in failure.details.items():
        name = (fields or {}).get(detail, detail)
        if name in form.fields:
            for problem in problems if isinstance(problems, list) else [problems]:
                form.add_error(name, str(problem))
            placed = True
    if not placed:
        form.add_error(None, failure.message)
