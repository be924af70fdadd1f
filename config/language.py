"""Which language a page speaks before anyone logs in (the login page, Django's error pages):
the one the person chose with the language switch (Django's language cookie), else the
product's (LANGUAGE_CODE, Brazilian Portuguese). A browser's Accept-Language is not a choice:
an English-configured browser in Brazil would otherwise get English pages. A logged-in member's
pages follow their own and their tenant's language (accounts.sessions), and the API keeps
Accept-Language (config.api.middleware.ApiLanguageMiddleware)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


def language_chosen(request: HttpRequest) -> str:
    """The language cookie's language when it is one of ours, else LANGUAGE_CODE."""
    try:
        return translation.get_supported_language_variant(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, ""))
    except LookupError:
        return settings.LANGUAGE_CODE


class ChosenLanguageMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith(settings.API_PATH_PREFIXES):
            super().process_request(request)
            return
        translation.activate(language_chosen(request))
        request.LANGUAGE_CODE = translation.get_language()
