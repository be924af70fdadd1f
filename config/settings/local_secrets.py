"""Secrets for the embedded default, generated once per checkout and kept in .local/.

Production settings never use this: there every secret must come from the environment.
"""

import json
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

_STORE = Path(__file__).resolve().parent.parent.parent / ".local" / "secrets.json"


def local_secret(name: str, *, kind: str = "token") -> str:
    stored: dict[str, str] = json.loads(_STORE.read_text()) if _STORE.exists() else {}
    if name not in stored:
        stored[name] = Fernet.generate_key().decode() if kind == "fernet" else secrets.token_urlsafe(50)
        _STORE.parent.mkdir(parents=True, exist_ok=True)
        _STORE.write_text(json.dumps(stored, indent=2))
        _STORE.chmod(0o600)
    return stored[name]
