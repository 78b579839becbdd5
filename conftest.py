"""Test-session settings shared by the unit tests, the chapter runs and nbval.

Progress bars of long Monte Carlo runs go to stderr, and whether one appears depends on how
fast the machine is (a run predicted to take over 10 s shows one). A bar inside a cell whose
output nbval compares would make that comparison depend on the machine, so the test session
switches them off; the kernels that papermill and nbval start inherit the setting. Tests of
the progress bar set ``SMECORE_PROGRESS`` themselves.
"""

import os

os.environ.setdefault("SMECORE_PROGRESS", "0")
