"""What the simulator's modules share: its error and its JSON answers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from integrations.simulators import Response


class SimulatorError(ValueError):
    """A simulator that cannot do what it was asked (an unknown session, a port in use)."""


def _json(status: int, body: Mapping[str, Any]) -> Response:
    return status, json.dumps(body).encode(), "application/json"
