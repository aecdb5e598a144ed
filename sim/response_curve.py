"""The published service response curve: what a dollar of service per customer does.

Public knowledge (the scenario's ``service`` block is in the briefing), so the
engine, the lab and strategies share this one definition; the engine applies
it to each customer's latent response theta (``sim.behaviour``).
"""

from __future__ import annotations

import numpy as np

from .scenario import ServiceResponse


def hill_response(spend_per_customer: np.ndarray, service: ServiceResponse) -> np.ndarray:
    """S-shaped service effect g(e) = g_max e^h / (e^h + e50^h), e in dollars per turn."""
    e = np.asarray(spend_per_customer, dtype=float)
    ratio = (e / service.half_saturation) ** service.hill
    return service.g_max * ratio / (1.0 + ratio)
