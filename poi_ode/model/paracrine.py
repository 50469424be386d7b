"""Paracrine signal: lumped growth-factor activity (VEGF, HGF, IGF-1...) in the ovary."""
from __future__ import annotations

from .core import Module


def paracrine_module() -> Module:
    """Build the paracrine module.

    The signal ``P`` is measured in multiples of its half-maximal level, so the effect
    ``Phi = P / (1 + P)`` lies in [0, 1) and every downstream effect is an Emax times Phi.
    """
    m = Module(
        "paracrine",
        "Growth-factor activity in the ovary, secreted by MSCs in the ovary or in a depot and "
        "delivered by exosomes; lung-trapped cells and plasma exosomes add a smaller systemic "
        "share. P is in units of its half-maximal level, so the fractional effect is "
        "Phi = P/(1+P). Potency multipliers express cell source or engineering.",
    )
    P = m.state("P", "1", "paracrine signal (multiples of its half-maximal level)", "P")
    M_ov = m.input("M_ov", 0, "cells", "MSCs in the ovary")
    M_dep = m.input("M_dep", 0, "cells", "MSCs in a depot")
    M_lung = m.input("M_lung", 0, "cells", "lung-trapped MSCs")
    X_ov = m.input("X_ov", 0, "ug", "exosomes in the ovary")
    X_pl = m.input("X_pl", 0, "ug", "exosomes in plasma")

    s_M = m.param("s_M", "1/(cells*day)", "paracrine secretion per MSC in or on the ovary", r"s_{M}")
    s_X = m.param("s_X", "1/(ug*day)", "paracrine delivery per µg exosome in the ovary", r"s_{X}")
    w_M = m.param("w_sys_M", "1", "systemic weight of lung-trapped MSCs relative to ovarian ones",
                  r"w_{\mathrm{sys},M}", (0, 1))
    w_X = m.param("w_sys_X", "1", "systemic weight of plasma exosomes relative to ovarian ones", r"w_{\mathrm{sys},X}",
                  (0, 1))
    pot_M = m.param("potency_msc", "1", "potency multiplier of the MSC product (source, engineering)", r"\pi_{M}")
    pot_X = m.param("potency_exo", "1", "potency multiplier of the exosome product", r"\pi_{X}")
    k_P = m.half_life("t_half_P", "day", "turnover half-life of the paracrine signal", r"t_{1/2,P}")

    m.flow(None, P, s_M * pot_M * (M_ov + M_dep + w_M * M_lung), "secretion by MSCs")
    m.flow(None, P, s_X * pot_X * (X_ov + w_X * X_pl), "delivery by exosomes")
    m.flow(P, None, k_P * P, "turnover")
    m.assign("Phi", P / (1 + P), "1", "fractional paracrine effect, P/(1+P)", r"\Phi")
    return m
