"""Rescue: the therapy returns primordial follicles hit by chemotherapy, before they die, to the reserve."""
from __future__ import annotations

from .core import Module


def rescue_module() -> Module:
    """Build the rescue module (an alternative therapy mechanism).

    Chemotherapy does not remove a primordial follicle at once: a hit follicle (``F_prim_hit`` of the
    follicle module) dies with the half-life ``t_half_prim_hit`` and is not counted as primordial
    meanwhile. Without the therapy this is the same loss as an instant kill, seen later in the sinks
    only. Here the paracrine signal returns hit follicles to the healthy reserve at the rate
    ``rescue_max * Phi`` (anti-apoptotic and DNA-repair support of the oocyte and its granulosa
    cells), so cells given after chemotherapy can raise primordial counts, and through them growing
    follicles later.
    """
    m = Module(
        "rescue",
        "Rescue of primordial follicles hit by chemotherapy (an alternative to the transient mechanism alone): "
        "the paracrine effect Phi returns hit, not yet dead, primordial follicles to the reserve at the rate "
        "rescue_max * Phi; how long hit follicles can be rescued is their half-life t_half_prim_hit (follicle "
        "module).",
    )
    Phi = m.input("Phi", 0, "1", "fractional paracrine effect (paracrine module)")
    r_max = m.param("rescue_max", "1/day", "largest rate at which the paracrine signal returns hit primordial "
                    "follicles to the reserve", r"r_{\mathrm{res}}")
    m.assign("primordial_rescue_rate", r_max * Phi, "1/day",
             "rate at which hit primordial follicles return to the reserve", r"k_{\mathrm{res}}")
    return m
