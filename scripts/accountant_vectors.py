#!/usr/bin/env python3
"""Generates the reference vectors that Tests/PrivacyTests compare the Swift accountants against.

Why: the Swift RDP and PLD accountants re-implement Google's dp_accounting; these vectors pin
them to the reference implementation (RDP to 1e-6 relative, PLD to 1e-3 relative). Run by hand,
not in CI; the committed JSON is what the tests read.

    python3 -m venv /tmp/dpvenv && /tmp/dpvenv/bin/pip install dp-accounting
    /tmp/dpvenv/bin/python scripts/accountant_vectors.py Tests/PrivacyTests/Fixtures

Both accountants use add-or-remove-one adjacency and Poisson sampling, as FedPulse does.
"""

import itertools
import json
import math
import sys
import time
from importlib import metadata
from pathlib import Path

from absl import logging as absl_logging
from dp_accounting import dp_event
from dp_accounting.pld import pld_privacy_accountant
from dp_accounting.rdp import rdp_privacy_accountant

QS = [0.01, 0.1, 0.5, 1.0]
ZS = [0.8, 1.1, 2.0, 5.0]
TS = [1, 10, 100, 1000]
DELTAS = [1e-5, 1e-6]

# PLD grids grow with the spread of the composed privacy loss (about sqrt(T) * q / z wide, in
# steps of 1e-4); the subset keeps each Swift evaluation well under a second in a debug build.
PLD_CASES = (
    [(q, z, t) for q in (0.01, 0.1) for z in ZS for t in TS if not (q == 0.1 and z == 0.8 and t == 1000)]
    + [(0.5, z, t) for z in (2.0, 5.0) for t in (1, 10, 100)]
    + [(1.0, z, t) for z in (2.0, 5.0) for t in (1, 10, 100)]
)

# Rounds with their own (q, z, count): what the auditor composes when a run changes its plan.
HETEROGENEOUS = [
    [(0.01, 1.1, 50), (0.02, 1.5, 30), (0.01, 0.9, 20)],
    [(0.1, 2.0, 5), (0.05, 1.0, 10), (0.1, 5.0, 1)],
]


def event(q, z, count):
    return dp_event.SelfComposedDpEvent(
        dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(z)), count
    )


def rdp_epsilon(rounds, delta):
    acc = rdp_privacy_accountant.RdpAccountant()
    for q, z, count in rounds:
        acc.compose(event(q, z, count))
    eps, order = acc.get_epsilon_and_optimal_order(delta)
    return float(eps), float(order)


def pld_accountant(rounds):
    acc = pld_privacy_accountant.PLDAccountant()
    for q, z, count in rounds:
        acc.compose(event(q, z, count))
    return acc


def main(out_dir):
    # dp_accounting warns (and drops the order) when the fractional-order series does not converge
    # for small orders; the Swift port does the same, so the warnings are noise here.
    absl_logging.set_verbosity(absl_logging.ERROR)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    version = metadata.version("dp-accounting")

    rdp_cases = []
    for q, z, t, delta in itertools.product(QS, ZS, TS, DELTAS):
        eps, order = rdp_epsilon([(q, z, t)], delta)
        rdp_cases.append({"q": q, "z": z, "rounds": t, "delta": delta, "epsilon": eps, "order": order})
    rdp_hetero = []
    for rounds in HETEROGENEOUS:
        for delta in DELTAS:
            eps, order = rdp_epsilon(rounds, delta)
            rdp_hetero.append({
                "rounds": [{"q": q, "z": z, "count": c} for q, z, c in rounds],
                "delta": delta, "epsilon": eps, "order": order,
            })
    (out / "rdp_vectors.json").write_text(json.dumps({
        "generator": "scripts/accountant_vectors.py",
        "dp_accounting": version,
        "orders": [float(o) for o in rdp_privacy_accountant.DEFAULT_RDP_ORDERS],
        "cases": rdp_cases,
        "heterogeneous": rdp_hetero,
    }, indent=1, sort_keys=True) + "\n")

    pld_cases = []
    for q, z, t in PLD_CASES:
        start = time.time()
        acc = pld_accountant([(q, z, t)])
        for delta in DELTAS:
            pld_cases.append({"q": q, "z": z, "rounds": t, "delta": delta,
                              "epsilon": float(acc.get_epsilon(delta))})
        print(f"pld q={q} z={z} T={t}: {time.time() - start:.2f}s", file=sys.stderr)
    pld_hetero = []
    for rounds in HETEROGENEOUS:
        acc = pld_accountant(rounds)
        for delta in DELTAS:
            pld_hetero.append({
                "rounds": [{"q": q, "z": z, "count": c} for q, z, c in rounds],
                "delta": delta, "epsilon": float(acc.get_epsilon(delta)),
            })
    (out / "pld_vectors.json").write_text(json.dumps({
        "generator": "scripts/accountant_vectors.py",
        "dp_accounting": version,
        "value_discretization_interval": 1e-4,
        "cases": pld_cases,
        "heterogeneous": pld_hetero,
    }, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/PrivacyTests/Fixtures")
