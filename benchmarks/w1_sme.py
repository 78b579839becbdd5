"""W1 - SME Monte Carlo: ``python benchmarks/w1_sme.py [--quick]``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._workload_cli import main  # noqa: E402

if __name__ == "__main__":
    main("W1")
