"""MSC kinetics: where injected mesenchymal stromal cells go, by route, and how long they live.

Routes: intraovarian (cells placed in the ovary), intravenous (cells pass the lungs, where
most are trapped; a small fraction homes to the ovary, more when the ovary is damaged),
intraperitoneal (slow homing from the peritoneal cavity) and depot (cells held in a
scaffold or hydrogel on the ovary, which protects them and lets them migrate in).
"""
from __future__ import annotations

from .core import Module

CELLS = "cells"


def msc_module() -> Module:
    """Build the MSC kinetics module (states in cells)."""
    m = Module(
        "msc",
        "Mesenchymal stromal cells (MSCs) by route. Intravenous cells leave the circulation "
        "within minutes: a fraction is trapped in the lungs, a fraction of the rest homes to the "
        "ovary (raised by ovarian damage), the remainder is lost to other tissues. Cells in the "
        "ovary, lung, peritoneum and depot die or are cleared first-order; in the ovary, "
        "crowding beyond the niche's capacity speeds their death, so engraftment saturates with dose.",
    )
    M_iv = m.state("M_iv", CELLS, "MSCs in the circulation", r"M_{\mathrm{iv}}")
    M_lung = m.state("M_lung", CELLS, "MSCs trapped in the lungs", r"M_{\mathrm{lung}}")
    M_ov = m.state("M_ov", CELLS, "MSCs in the ovary (injected or homed)", r"M_{\mathrm{ov}}")
    M_ip = m.state("M_ip", CELLS, "MSCs in the peritoneal cavity", r"M_{\mathrm{ip}}")
    M_dep = m.state("M_dep", CELLS, "MSCs held in a scaffold or hydrogel depot on the ovary", r"M_{\mathrm{dep}}")

    D = m.input("D", 0, "1", "ovarian damage index (insult module)")

    k_circ = m.half_life("t_half_M_circ", "day", "half-time of MSC exit from the circulation", r"t_{1/2,\mathrm{circ}}")
    f_lung = m.param("f_lung", "1", "fraction of intravenous MSCs trapped in the lungs", r"f_{\mathrm{lung}}", (0, 1))
    f_home = m.param("f_home", "1", "fraction of MSCs passing the lungs that home to the healthy ovary",
                     r"f_{\mathrm{home}}", (0, 1))
    h_D = m.param("h_home_D", "1", "relative rise of ovarian homing per unit damage index", r"h_{D}")
    k_lung = m.half_life("t_half_M_lung", "day", "half-life of lung-trapped MSCs", r"t_{1/2,\mathrm{lung}}")
    k_ov = m.half_life("t_half_M_ov", "day", "half-life of MSCs in the ovary (uncrowded)", r"t_{1/2,\mathrm{ov}}")
    M_cap = m.param("M_capacity", CELLS, "ovarian MSC number at which crowding doubles cell death", r"M_{\mathrm{cap}}")
    k_ip = m.half_life("t_half_M_ip", "day", "half-time of MSC exit from the peritoneal cavity", r"t_{1/2,\mathrm{ip}}")
    f_home_ip = m.param("f_home_ip", "1", "fraction of intraperitoneal MSCs that reach the ovary",
                        r"f_{\mathrm{home,ip}}", (0, 1))
    k_dep = m.half_life("t_half_M_dep", "day", "half-life of MSCs in a depot", r"t_{1/2,\mathrm{dep}}")
    k_mig = m.half_life("t_half_M_mig", "day", "half-time of MSC migration from the depot into the ovary",
                        r"t_{1/2,\mathrm{mig}}")

    m.flow(M_iv, M_lung, k_circ * f_lung * M_iv, "lung trapping")
    m.flow(M_iv, M_ov, k_circ * (1 - f_lung) * f_home * (1 + h_D * D) * M_iv, "homing to the ovary")
    m.flow(M_iv, None, k_circ * (1 - f_lung) * (1 - f_home) * M_iv, "loss to other tissues")
    m.flow(M_lung, None, k_lung * M_lung, "clearance from the lungs")
    m.flow(M_ov, None, k_ov * (1 + M_ov / M_cap) * M_ov, "death of ovarian MSCs (faster when crowded)")
    m.flow(M_ip, M_ov, k_ip * f_home_ip * M_ip, "homing from the peritoneum")
    m.flow(M_ip, None, k_ip * (1 - f_home_ip) * M_ip, "loss from the peritoneum")
    m.flow(M_dep, M_ov, k_mig * M_dep, "migration from the depot into the ovary")
    m.flow(M_dep, None, k_dep * M_dep, "death in the depot")

    m.dose("msc", "intraovarian", M_ov, CELLS, default_route=True)
    m.dose("msc", "intravenous", M_iv, CELLS)
    m.dose("msc", "intraperitoneal", M_ip, CELLS)
    m.dose("msc", "depot", M_dep, CELLS)
    m.assign("M_total", M_iv + M_lung + M_ov + M_ip + M_dep, CELLS, "all MSCs alive in the body")
    return m
