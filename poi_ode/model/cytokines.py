"""Cytokine tone: pro-inflammatory (TNF-α, IFN-γ, IL-6) and anti-inflammatory (IL-10, TGF-β)."""
from __future__ import annotations

from .core import Module


def cytokine_module() -> Module:
    """Build the cytokine module (both tones relative to the healthy level, 1)."""
    m = Module(
        "cytokines",
        "Lumped ovarian cytokine tone relative to health (1). Damage raises pro-inflammatory "
        "production; the paracrine signal lowers it and raises anti-inflammatory tone, which in "
        "turn restrains pro-inflammatory production.",
    )
    C_pro = m.state("C_pro", "1", "pro-inflammatory tone (TNF-α, IFN-γ, IL-6), healthy = 1", r"C_{\mathrm{pro}}")
    C_anti = m.state("C_anti", "1", "anti-inflammatory tone (IL-10, TGF-β), healthy = 1", r"C_{\mathrm{anti}}")
    D = m.input("D", 0, "1", "ovarian damage index (insult module)")
    Phi = m.input("Phi", 0, "1", "fractional paracrine effect (paracrine module)")

    k_pro = m.half_life("t_half_C_pro", "day", "turnover half-life of pro-inflammatory tone", r"t_{1/2,\mathrm{pro}}")
    k_anti = m.half_life("t_half_C_anti", "day", "turnover half-life of anti-inflammatory tone",
                         r"t_{1/2,\mathrm{anti}}")
    g_D = m.param("g_pro_D", "1", "rise of pro-inflammatory production per unit damage", r"g_{D}")
    i_P = m.param("i_pro_P", "1", "maximal suppression of pro-inflammatory production by the paracrine signal",
                  r"i_{P}", (0, 1))
    g_P = m.param("g_anti_P", "1", "maximal rise of anti-inflammatory production by the paracrine signal", r"g_{P}")
    w_a = m.param("w_anti", "1", "restraint of pro-inflammatory production by anti-inflammatory tone", r"w_{a}")

    m.flow(None, C_pro, k_pro * (1 + g_D * D) * (1 - i_P * Phi) * (1 + w_a) / (1 + w_a * C_anti),
           "pro-inflammatory production")
    m.flow(C_pro, None, k_pro * C_pro, "pro-inflammatory decay")
    m.flow(None, C_anti, k_anti * (1 + g_P * Phi), "anti-inflammatory production")
    m.flow(C_anti, None, k_anti * C_anti, "anti-inflammatory decay")
    return m
