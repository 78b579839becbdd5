"""The setting chapter's claims (smecore.studies.setting): the constant of the weak
approximation over several learning rates, and the wrong equations its claims reject.

Both claims are exact (moment recursions and moment equations), so each mutant is checked
once. The chapter's own bands are used: fitted orders in [0.9, 1.1].
"""

from __future__ import annotations

import numpy as np
import pytest

from smecore import mutants
from smecore.problems import GaussianQuadratic
from smecore.studies.setting import WeakConstants, weak_constants

PROBLEM = GaussianQuadratic([1.0, 0.2])
X0, LRS, T = [1.0, 1.0], [0.1, 0.05, 0.025, 0.0125], 20.0
BAND = (0.9, 1.1)


def claims_pass(study: WeakConstants) -> dict:
    """The chapter's two S1 claim verdicts, as PASS (True) / FAIL (False)."""
    return {name: BAND[0] <= fit.order <= BAND[1]
            for name, fit in (("gap order", study.gap_order), ("level order", study.level_order))}


@pytest.fixture
def active():
    """Activate a mutant for one test; always restore the true equations."""
    yield mutants.activate
    mutants.activate("")


def test_true_sme_passes_both_claims():
    study = weak_constants(PROBLEM, X0, LRS, T)
    assert claims_pass(study) == {"gap order": True, "level order": True}
    # The constant of the definition settles as eta shrinks (it does not grow like 1/eta).
    assert np.all(np.diff(study.constants) > 0) and study.constants[-1] / study.constants[0] < 1.2
    # The gap is a weak error of order 1: C eta with C bounded, equal for every eta to 1e-12.
    np.testing.assert_allclose(study.max_gap, study.constants * study.lrs, rtol=1e-12)


@pytest.mark.parametrize("key", ["S1:no-noise"])
def test_s1_mutants_are_killed(key, active):
    assert mutants.get(key).result == "S1"
    active(key)
    verdicts = claims_pass(weak_constants(PROBLEM, X0, LRS, T))
    assert not all(verdicts.values()), f"{key} survived the setting chapter's claims: {verdicts}"
    assert verdicts["level order"] is False  # the noise sets the fluctuation level


def test_the_gradient_flow_passes_the_absolute_gap_alone(active):
    """Why the chapter needs the level claim: without noise the absolute gap is still O(eta)."""
    active("S1:no-noise")
    study = weak_constants(PROBLEM, X0, LRS, T)
    assert claims_pass(study)["gap order"] is True
    assert study.level_gap.min() > 0.9  # relative gap of order one


def test_order_2_constants():
    study = weak_constants(PROBLEM, X0, LRS, T, order=2)
    np.testing.assert_allclose(study.constants, study.max_gap / np.asarray(LRS) ** 2)
    assert 1.8 < study.gap_order.order < 2.2


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lrs": [0.1]}, ValueError, "at least two distinct"),
    ({"lrs": [0.1, 0.1]}, ValueError, "at least two distinct"),
    ({"lrs": [0.1, -0.05]}, ValueError, "positive"),
    ({"lrs": [0.1, 0.03]}, ValueError, "whole number of steps"),
    ({"order": 3}, ValueError, "order must be 1 or 2"),
    ({"horizon": 0.0}, ValueError, "horizon"),
    ({"x0": [1.0]}, ValueError, "x0"),
])
def test_bad_inputs(kwargs, error, match):
    args = {"problem": PROBLEM, "x0": X0, "lrs": LRS, "horizon": T} | kwargs
    order = args.pop("order", 1)
    with pytest.raises(error, match=match):
        weak_constants(args["problem"], args["x0"], args["lrs"], args["horizon"], order=order)
