"""W2 - SGD Monte Carlo: ``python benchmarks/w2_sgd.py [--quick]``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._workload_cli import main  # noqa: E402

if __name__ == "__main__":
    main("W2")
