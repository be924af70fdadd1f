from __future__ import annotations

import re

from django.db.models import Q, QuerySet

from contacts.models import Contact
from contacts.phones import InvalidPhone, phone_normalize
from tenants.models import Tenant


def contact_search_q(*, tenant: Tenant, text: str, prefix: str = "") -> Q:
    """Matches a contact by name, email or phone (written any way: it is normalised to
    E.164 when it is a whole number, and matched by digits when it is a part of one)."""
    text = text.strip()
    query = Q(**{f"{prefix}name__icontains": text}) | Q(**{f"{prefix}email__icontains": text})
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 4 and len(digits) >= len(re.sub(r"[\s().+\-]", "", text)):
        query |= Q(**{f"{prefix}phone__contains": digits})
        try:
            query |= Q(**{f"{prefix}phone": phone_normalize(text, default_region=tenant.default_country)})
        except InvalidPhone:
            pass
    return query


def contact_list(*, tenant: Tenant, search: str = "") -> QuerySet[Contact]:
    contacts = Contact.objects.all()
    if search:
        contacts = contacts.filter(contact_search_q(tenant=tenant, text=search))
    return contacts
