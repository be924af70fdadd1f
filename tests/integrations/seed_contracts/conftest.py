"""The seed contracts' tests use the providers' own simulators and fixtures (imported here, so
that they are this directory's fixtures too)."""

from __future__ import annotations

import pytest

from accounts.models import Role
from tests.integrations.baileys_service.conftest import service  # noqa: F401 - a fixture
from tests.integrations.evolution.conftest import evolution  # noqa: F401 - a fixture
from tests.integrations.whatsapp_cloud.conftest import graph  # noqa: F401 - a fixture


@pytest.fixture
def admin(acme, member):
    return member(acme, Role.TENANT_ADMIN)


@pytest.fixture
def admin_api(api, admin):
    return api(admin)


@pytest.fixture
def fresh(evolution):  # noqa: F811 - the imported fixture, asked for
    """The Evolution simulator as this installation's server, without instances: connecting a
    number creates one."""
    evolution.instances.clear()
    return evolution
