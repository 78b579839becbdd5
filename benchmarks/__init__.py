"""Benchmarks of smecore against the tools a user would otherwise pick.

Run ``python benchmarks/run.py`` (``--quick`` for a smoke run) from the
repository root; ``python benchmarks/report.py`` renders the table. See
``benchmarks/README.md``.
"""
