"""Command line of smecore: ``python -m smecore reproduce`` (console script ``smecore``).

Usage errors (an unknown chapter, ``--jobs 0``, an ``--out`` folder that cannot be written)
exit with status 2 and one line naming the argument, without the usage block or a traceback;
see :mod:`smecore.book.reproduce` for the command itself.
"""

from __future__ import annotations

import argparse
import sys

from smecore import __version__
from smecore.book import reproduce as _reproduce

DESCRIPTION = """\
smecore: stochastic modified equations of stochastic gradient algorithms,
the library behind the executable companion to Li, Tai & E (JMLR 2019).

commands:
  reproduce   run the book's chapters and collect every verdict in report.json / report.md
"""

EXAMPLE = """\
example:
  python -m smecore reproduce --quick --seed 7 --out /tmp/smecore-run
  (see `smecore reproduce --help` for every option)
"""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2.

    argparse prints the usage block before the message; in a log the message then hides
    among option lists. ``--help`` still shows the full usage.
    """

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    """The argument parser; returns ``(parser, {command: subparser})``."""
    parser = OneLineParser(
        prog="smecore", description=DESCRIPTION, epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"smecore {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    reproduce = commands.add_parser(
        "reproduce", help="run the chapters and write report.json / report.md",
        description="Run the chapters listed in _toc.yml through papermill and collect every "
                    "verdict (PASS/FAIL with its band) in report.json and report.md.")
    _reproduce.add_arguments(reproduce)
    return parser, {"reproduce": reproduce}


def main(argv=None):
    """Entry point; returns the exit status (0 all PASS, 1 a FAIL, 2 bad usage).

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv[1:]  # recorded in the report, so a run can be repeated
    if args.command == "reproduce":
        return _reproduce.run(args, commands["reproduce"])
    parser.error(f"unknown command {args.command!r}")  # unreachable: argparse checks choices


if __name__ == "__main__":
    sys.exit(main())
