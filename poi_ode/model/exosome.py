"""Exosome (MSC-derived extracellular vesicle) kinetics, in µg of vesicle protein."""
from __future__ import annotations

from .core import Module

UG = "ug"


def exosome_module() -> Module:
    """Build the exosome kinetics module (states in µg vesicle protein)."""
    m = Module(
        "exosome",
        "MSC-derived exosomes, as µg of vesicle protein. After intravenous injection they are "
        "cleared from plasma within minutes, a small fraction taken up by the ovary; in the "
        "ovary they are degraded first-order. A hydrogel depot releases them into the ovary; "
        "an intraperitoneal dose is absorbed into plasma. Doses in particles are converted "
        "with a particle-to-protein ratio.",
    )
    X_pl = m.state("X_pl", UG, "exosomes in plasma", r"X_{\mathrm{pl}}")
    X_ov = m.state("X_ov", UG, "exosomes in the ovary", r"X_{\mathrm{ov}}")
    X_dep = m.state("X_dep", UG, "exosomes held in a hydrogel depot", r"X_{\mathrm{dep}}")
    X_ip = m.state("X_ip", UG, "exosomes in the peritoneal cavity", r"X_{\mathrm{ip}}")

    k_pl = m.half_life("t_half_X_pl", "day", "plasma half-life of exosomes", r"t_{1/2,X\mathrm{pl}}")
    f_ov = m.param("f_X_ov", "1", "fraction of plasma exosome clearance taken up by the ovary", r"f_{X\mathrm{ov}}",
                   (0, 1))
    k_ov = m.half_life("t_half_X_ov", "day", "half-life of exosomes in the ovary", r"t_{1/2,X\mathrm{ov}}")
    k_rel = m.half_life("t_half_X_dep", "day", "half-time of exosome release from a depot", r"t_{1/2,X\mathrm{dep}}")
    k_abs = m.half_life("t_half_X_ip", "day", "half-time of exosome absorption from the peritoneum",
                        r"t_{1/2,X\mathrm{ip}}")
    ppu = m.param("particles_per_ug", "particles/ug", "exosome particles per µg vesicle protein",
                  r"n_{\mathrm{p}/\mu g}")

    m.flow(X_pl, X_ov, k_pl * f_ov * X_pl, "ovarian uptake from plasma")
    m.flow(X_pl, None, k_pl * (1 - f_ov) * X_pl, "clearance from plasma (liver, spleen, lung)")
    m.flow(X_ov, None, k_ov * X_ov, "degradation in the ovary")
    m.flow(X_dep, X_ov, k_rel * X_dep, "release from the depot into the ovary")
    m.flow(X_ip, X_pl, k_abs * X_ip, "absorption from the peritoneum")

    per_particle = {"particles": 1 / ppu}
    m.dose("exosome", "intravenous", X_pl, UG, alternative_units=per_particle)
    m.dose("exosome", "intraovarian", X_ov, UG, alternative_units=per_particle, default_route=True)
    m.dose("exosome", "depot", X_dep, UG, alternative_units=per_particle)
    m.dose("exosome", "intraperitoneal", X_ip, UG, alternative_units=per_particle)
    return m
