"""Estimation: random streams, streamed Monte Carlo statistics, observables, weak errors and fitted orders.

This layer is pure statistics: it knows nothing of algorithms or equations, so
every layer above may use it.
"""

from .streams import (
    DEFAULT_BLOCK_SIZE,
    as_seed_sequence,
    BlockPlan,
    plan_blocks,
    PathRandom,
    as_path_random,
)
from .montecarlo import MCEstimate, BlockStats, monte_carlo
from .observables import (
    identity,
    normalize_observables,
    record_steps,
    StatsRecorder,
    Statistics,
)
from .weak import (
    WeakError,
    OrderFit,
    weak_error,
    fit_order,
    asymptotic_slopes,
    settling_step,
)
from .counter import (
    counter_key,
    mix64,
    counter_words,
    counter_uniform,
    counter_rademacher,
    counter_normal,
    ZIGGURAT,
)

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "as_seed_sequence",
    "BlockPlan",
    "plan_blocks",
    "PathRandom",
    "as_path_random",
    "MCEstimate",
    "BlockStats",
    "monte_carlo",
    "identity",
    "normalize_observables",
    "record_steps",
    "StatsRecorder",
    "Statistics",
    "WeakError",
    "OrderFit",
    "weak_error",
    "fit_order",
    "asymptotic_slopes",
    "settling_step",
    "counter_key",
    "mix64",
    "counter_words",
    "counter_uniform",
    "counter_rademacher",
    "counter_normal",
    "ZIGGURAT",
]
