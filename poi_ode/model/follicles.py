"""Follicle pools: primordial reserve, growing stages, atresia and ovulation sinks."""
from __future__ import annotations

from typing import Mapping

import sympy as sp

from ..errors import ModelError
from .core import Module

FOLLICLES = "follicles"


STAGES = ("pri", "sec", "sa", "la")
"""The growing stages, in order: primary, secondary, small antral, large antral."""

KILLED_STAGES = ("sec", "sa", "la")
"""Growing stages the chemotherapy growing-follicle kill acts on: follicles with a multilayer, proliferating
granulosa (secondary onward); primary follicles, with one layer, are spared like primordial ones (an assumption)."""


def follicle_module(fsh_unit: str = "IU/L", compartments: Mapping[str, int] | None = None,
                    ovulation_order: int = 1) -> Module:
    """Build the follicle module (counts per individual, both ovaries).

    Stages: primordial -> primary -> secondary -> small antral -> large antral -> ovulation.
    Each growing stage has a mean residence time ``tau`` and a survival fraction ``s`` (the
    share that matures rather than becoming atretic), so maturation is s/tau and atresia
    (1-s)/tau times a modifier. Ovulation is the maturing flux of large antral follicles capped
    by the species' quota (a smooth minimum: about one per 28-day cycle in women); the rest of
    the cohort becomes atretic. Every follicle that leaves a pool enters the next pool or one
    of the two cumulative sinks, so the total is conserved. The module also keeps the clock
    ``age`` (years), which sets the pubertal rise of AMH output per follicle.

    Parameters
    ----------
    fsh_unit : str
        Unit of the FSH input (species-dependent assays).
    compartments : mapping of str to int, optional
        Sub-compartments per growing stage (``pri, sec, sa, la``; default 1 each): a stage of
        ``n`` compartments is an Erlang delay chain with the same mean residence ``tau`` and a
        coefficient of variation 1/sqrt(n). Each compartment passes on ``s**(1/n)`` of what
        leaves it, so the stage still matures the fraction ``s``. A chained stage's total is the
        output of the stage's name (``F_pri``...), its compartments the states ``F_pri_1``...
    ovulation_order : int
        Order of ovulation in the maturing large antral flux below the quota (default 1:
        proportional). With ``n`` > 1 the flux relative to the quota is raised to the power ``n``
        before the smooth minimum with the quota: a cohort too small to give the ovulatory signal
        rarely ovulates, so ovulation falls steeply once the cohort drops below the quota, while
        it stays at the quota as long as the cohort exceeds it.
    """
    m = Module(
        "follicles",
        "Primordial follicles are activated first-order; activation is restrained by the AMH of the "
        "growing follicles (a paracrine signal: the pubertal rise of serum AMH does not act on it) and "
        "accelerated by damage ('burn-out') and, possibly, by the paracrine signal. Circulating "
        "chemotherapy kills primordial and growing follicles directly. Growing follicles mature stage by stage; "
        "atresia rises with pro-inflammatory tone and damage and falls with paracrine protection. "
        "Small antral follicles need FSH to be selected. Ovulation is capped by the species' quota "
        "(dominance): follicles beyond it become atretic. Atretic and ovulated follicles are "
        "counted in cumulative sinks. Age advances as a clock state; AMH output per follicle "
        "rises through puberty with it.",
    )
    n = {stage: (compartments or {}).get(stage, 1) for stage in STAGES}
    unknown = sorted(set(compartments or {}) - set(STAGES))
    bad = [stage for stage, k in n.items() if not (isinstance(k, int) and k >= 1)]
    if not (isinstance(ovulation_order, int) and not isinstance(ovulation_order, bool) and ovulation_order >= 1):
        raise ModelError(f"ovulation_order must be a whole number >= 1, not {ovulation_order!r}")
    if unknown or bad:
        raise ModelError(f"follicle compartments: stages are {STAGES} with whole numbers >= 1 "
                         f"(unknown {unknown}, not a whole number >= 1: {bad})")
    described = {"pri": "primary follicles", "sec": "secondary (preantral) follicles",
                 "sa": "small antral follicles", "la": "large antral (selectable to preovulatory) follicles"}
    F0 = m.state("F_prim", FOLLICLES, "primordial (non-growing) follicles", r"F_{0}")
    chain: dict[str, list[sp.Symbol]] = {}
    for k, stage in enumerate(STAGES, start=1):
        if n[stage] == 1:
            chain[stage] = [m.state(f"F_{stage}", FOLLICLES, described[stage], rf"F_{{{k}}}")]
        else:
            chain[stage] = [m.state(f"F_{stage}_{i}", FOLLICLES, f"{described[stage]}, compartment {i} of {n[stage]}",
                                    rf"F_{{{k},{i}}}") for i in range(1, n[stage] + 1)]
    F_hit = m.state("F_prim_hit", FOLLICLES, "primordial follicles hit by chemotherapy, dying (not counted as "
                    "primordial)", r"F_{0,\mathrm{hit}}")
    F_atr = m.state("F_atretic", FOLLICLES, "cumulative atretic follicles (sink)", r"F_{\mathrm{atr}}")
    F_ovu = m.state("F_ovulated", FOLLICLES, "cumulative ovulated follicles (sink)", r"F_{\mathrm{ovu}}")
    age = m.state("age", "year", "age of the individual (a clock: one year per year)", r"a")

    FSH_ref = m.param("FSH_ref", fsh_unit, "reference (healthy adult) serum FSH", r"\mathrm{FSH}_{\mathrm{ref}}")
    FSH = m.input("FSH", FSH_ref, fsh_unit, "serum FSH (hormone module)")
    D = m.input("D", 0, "1", "ovarian damage index (insult module)")
    Phi = m.input("Phi", 0, "1", "fractional paracrine effect (paracrine module)")
    C_pro = m.input("C_pro", 1, "1", "pro-inflammatory tone (cytokine module)")
    kill = m.input("cytotoxic_kill", 0, "1/day", "primordial kill rate by chemotherapy (insult module)")
    R = m.input("R_FSH", 1, "1", "FSH responsiveness of antral follicles (responsiveness module)")
    kill_g = m.input("cytotoxic_kill_growing", 0, "1/day", "growing-follicle kill rate by chemotherapy (insult module)")
    niche = m.input("niche_atresia_factor", 1, "1", "atresia relative to an unrepaired niche (niche module)")
    niche_act = m.input("niche_activation_factor", 1, "1",
                        "primordial activation relative to an unrepaired niche (niche module)")
    rescue = m.input("primordial_rescue_rate", 0, "1/day",
                     "rate at which hit primordial follicles return to the reserve (rescue module)")

    k_act = m.param("k_act", "1/day", "primordial activation rate constant at the reference AMH signal",
                    r"k_{\mathrm{act}}")
    K_AMH = m.param("K_AMH", "1", "strength of the restraint of activation by intra-ovarian AMH", r"K_{\mathrm{AMH}}")
    AFC_ref = m.param("AFC_ref", FOLLICLES, "reference antral follicle count", r"\mathrm{AFC}_{\mathrm{ref}}")
    w_sec = m.param("w_AMH_sec", "1", "AMH output of a secondary relative to a small antral follicle",
                    r"w_{\mathrm{sec}}")
    b_D = m.param("b_act_D", "1", "rise of activation per unit damage (burn-out)", r"b_{D}")
    b_P = m.param("b_act_P", "1", "maximal rise of activation by the paracrine signal", r"b_{P}")
    k_pd = m.param("k_prim_death", "1/day", "baseline primordial follicle death rate", r"k_{\mathrm{pd}}")
    k_hit = m.half_life("t_half_prim_hit", "day", "half-life of primordial follicles hit by chemotherapy before they "
                        "die", r"t_{1/2,\mathrm{hit}}")
    a_C = m.param("a_atr_C", "1", "sensitivity of atresia to pro-inflammatory tone", r"a_{C}")
    a_D = m.param("a_atr_D", "1", "rise of atresia per unit damage", r"a_{D}")
    p_max = m.param("p_protect", "1", "maximal protection from atresia and kill by the paracrine signal", r"p_{\max}",
                    (0, 1))
    K_F = m.param("K_FSH", fsh_unit, "FSH level of half-maximal antral selection", r"K_{\mathrm{FSH}}")

    q_ovu = m.param(
        "ovulation_quota", "follicles/day", "largest ovulation rate: ovulations per cycle over the cycle length",
        r"q_{\mathrm{ovu}}",
    )
    a50 = m.param("age_AMH50", "year", "age at half-mature AMH output per follicle (puberty)", r"a_{50}")
    w_a = m.param("w_AMH_age", "year", "width of the pubertal rise of AMH output (logistic scale)", r"w_{a}")
    m.param("F_prim_start", FOLLICLES,
            "primordial follicles at the start age of the natural history (initial condition)",
            r"F_{0,\mathrm{start}}")
    m.param("poi_reserve_fraction", "1", "primordial pool of the 'poi' initial state relative to the healthy pool "
            "at the same age (initial condition)", r"f_{\mathrm{POI}}", (0, 1))

    tau = {}
    surv = {}
    for k, stage in enumerate(STAGES, start=1):
        tau[stage] = m.param(f"tau_{stage}", "day", f"mean residence time, {stage} stage", rf"\tau_{{{k}}}")
        surv[stage] = m.param(f"s_{stage}", "1", f"fraction of {stage} follicles that mature", rf"s_{{{k}}}", (0, 1))

    total = {}
    for k, stage in enumerate(STAGES, start=1):
        total[stage] = sum(chain[stage], sp.Integer(0))
        if n[stage] > 1:
            total[stage] = m.assign(f"F_{stage}", total[stage], FOLLICLES, f"{described[stage]} (all compartments)",
                                    rf"F_{{{k}}}")
    F1, F2, F3, F4 = (total[stage] for stage in STAGES)
    amh_local = m.assign(
        "amh_signal", (F3 + w_sec * F2) / AFC_ref, "1",
        "intra-ovarian (paracrine) AMH of the growing follicles, 1 at the reference count; serum AMH is this "
        "signal times the pubertal maturity of AMH output", r"\alpha",
    )
    act_mod = m.assign(
        "act_modifier",
        (1 + K_AMH) / (1 + K_AMH * amh_local) * (1 + b_D * D) * (1 + b_P * Phi) * niche_act,
        "1",
        "activation relative to the healthy reference",
        r"h_{\mathrm{act}}",
    )
    protect = 1 - p_max * Phi
    atr_mod = m.assign(
        "atresia_modifier",
        (1 + a_C * C_pro) / (1 + a_C) * (1 + a_D * D) * protect * niche,
        "1",
        "atresia relative to the healthy reference",
        r"h_{\mathrm{atr}}",
    )
    g_FSH = m.assign(
        "fsh_selection", R * FSH / (FSH + K_F) * (FSH_ref + K_F) / FSH_ref, "1",
        "FSH-dependent selection of small antral follicles, 1 at reference FSH and full responsiveness",
        r"g_{\mathrm{FSH}}",
    )

    m.flow(None, age, sp.Rational(4, 1461), "ageing (1 year per 365.25 days)")
    m.assign(
        "amh_maturity", 1 / (1 + sp.exp((a50 - age) / w_a)), "1",
        "AMH output per follicle relative to the mature ovary: rises through puberty", r"m_{\mathrm{AMH}}",
    )
    # each compartment of a stage passes on s**(1/n) of its outflow n/tau; the rest is atretic
    rate = {stage: n[stage] / tau[stage] for stage in STAGES}
    passes = {stage: surv[stage] ** sp.Rational(1, n[stage]) for stage in STAGES}
    last_la = chain["la"][-1]
    x_q = (passes["la"] * rate["la"] * last_la / q_ovu) ** ovulation_order
    ovulation = m.assign(  # a smooth minimum of the (cooperative) maturing flux and the quota (84% at equality)
        "ovulation_rate", q_ovu * x_q / (1 + x_q**4) ** sp.Rational(1, 4), "follicles/day",
        "ovulations per day: the maturing large antral follicles relative to the quota, raised to the "
        "cooperativity (a cohort too small to give an ovulatory signal rarely ovulates), capped by the quota "
        "(dominance)",
        r"r_{\mathrm{ovu}}",
    )
    m.flow(F0, chain["pri"][0], k_act * act_mod * F0, "activation")
    m.flow(F0, F_atr, k_pd * F0, "primordial death")
    m.flow(F0, F_hit, kill * protect * F0, "chemotherapy hit of primordial follicles")
    m.flow(F_hit, F_atr, k_hit * F_hit, "death of hit primordial follicles")
    m.flow(F_hit, F0, rescue * F_hit, "rescue of hit primordial follicles by the therapy")
    for k, stage in enumerate(STAGES):
        following = chain[STAGES[k + 1]][0] if k + 1 < len(STAGES) else F_ovu
        for i, src in enumerate(chain[stage]):
            where = f"{stage} follicles" + (f", compartment {i + 1}" if n[stage] > 1 else "")
            atresia = (1 - passes[stage]) * rate[stage] * atr_mod * src
            if i + 1 < n[stage]:
                m.flow(src, chain[stage][i + 1], passes[stage] * rate[stage] * src, f"growth of {where}")
            elif stage == "la":  # one follicle (the species' quota) is selected; the rest of the cohort is atretic
                m.flow(src, following, ovulation, "ovulation")
                atresia = atresia + passes[stage] * rate[stage] * src - ovulation
            else:
                selection = g_FSH if stage == "sa" else 1
                m.flow(src, following, passes[stage] * rate[stage] * selection * src, f"maturation of {where}")
            m.flow(src, F_atr, atresia, f"atresia of {where}")
            if stage in KILLED_STAGES:
                m.flow(src, F_atr, kill_g * protect * src, f"chemotherapy kill of {where}")

    m.assign("AFC", F3 + F4, FOLLICLES, "antral follicle count (small and large antral)")
    m.assign("growing", F1 + F2 + F3 + F4, FOLLICLES, "all growing follicles")
    return m
