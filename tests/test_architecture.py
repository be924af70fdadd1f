"""The shape of the code, checked: the import contracts (.importlinter: layers, no provider in
the core, no cycles), queueing only in tasks modules, and no provider's name outside its package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("config", "tenants", "accounts", "channels_app", "contacts", "conversations", "integrations")


def _product_modules() -> list[Path]:
    return [path for package in PRODUCT for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts]


def test_the_import_contracts_hold():
    # In a process of its own: the linter reads the packages from the source, as CI's does.
    linted = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                             "sys.exit(lint_imports(no_cache=True, no_logo=True))"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert linted.returncode == 0, linted.stdout[-3000:] + linted.stderr[-2000:]


def test_only_tasks_modules_queue_tasks():
    """Services return what to queue; the tasks modules queue it (the edge), so that no service
    queues inside a transaction it does not own, and services stay callable from anywhere."""
    queueing = []
    for path in _product_modules():
        if path.name == "tasks.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "delay", "apply_async", "send_task"):
                queueing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert queueing == []


# A provider's marks (its name, hosts, headers, settings, endpoints), and the packages that may
# hold them. "whatsapp" alone is no provider's: several providers speak WhatsApp, and the core's
# words for a contact's addresses (@lid, Brazil's ninth digit) name it. The WhatsApp Web
# message shapes are one shared package's, and the packages' of the providers that post them
# (Evolution, and the connection service's simulator).
# The seed contracts (integrations/seed_contracts) are the compatibility surface of the product
# seeds' WhatsApp-specific API contracts: they may say "whatsapp", and name the kinds of their
# `type`s (whatsapp_cloud, whatsapp_evolution), seed 004's /webhooks/evolution path and the seeds'
# `{tenantId}` path parameter (our account's id there), but no provider's wire format, header or
# setting: they ask the registry and the adapters for those, and import no provider's package
# (.importlinter).
SEEDS = "seed_contracts"
# `X-API-Key` is no longer one provider's mark: it is also how our own API takes a tenant's key
# (accounts.authentication.ApiKeyAuthentication).


@pytest.mark.parametrize("provider,packages", [
    ("whatsapp_cloud", ("whatsapp_cloud", SEEDS)), ("WhatsAppCloud", ("whatsapp_cloud",)),
    ("graph.facebook", ("whatsapp_cloud",)), ("X-Hub-Signature", ("whatsapp_cloud",)),
    ("api_channel", ("api_channel",)), ("ApiChannel", ("api_channel",)),
    ("evolution", ("evolution", SEEDS)), ("EVOLUTION_API", ("evolution",)),
    ("x-inbox-webhook-secret", ("evolution",)), ("getBase64FromMediaMessage", ("evolution",)),
    ("baileys_service", ("baileys_service",)), ("X-Webhook-Signature", ("baileys_service",)),
    ("CONNECTION_SERVICE", ("baileys_service",)), ("MICROSERVICE", ("baileys_service",)),
    ("tenantId", ("baileys_service", SEEDS)),
    ("remoteJid", ("whatsapp_web", "evolution", "baileys_service")),
    ("s.whatsapp.net", ("whatsapp_web", "evolution", "baileys_service")),
])
def test_no_provider_detail_outside_its_package(provider, packages):
    """A provider's name, URLs and headers live in its package and on its registration line."""
    found = subprocess.run(
        ["git", "grep", "-il", provider, "--", ".", *(f":!integrations/{package}" for package in packages),
         ":!*/migrations/*", ":!tests", ":!docs", ":!README.md", ":!benchmarks", ":!locale", ":!.importlinter"],
        cwd=ROOT, capture_output=True, text=True, check=False).stdout.split()
    registration = (ROOT / "integrations" / "registry.py").read_text()
    lines = [line for line in registration.splitlines() if provider.lower() in line.lower()]
    assert [path for path in found if path != "integrations/registry.py"] == []
    assert len(lines) <= 1  # the registration line
