"""``python -m bearerguard`` (and the ``bearerguard`` script): the command line of the Rust core.

Everything is the ``bearerguard`` command's (crate ``bearerguard-cli``): ``check``, ``discover``,
``metadata``, ``config``; ``python -m bearerguard --help`` teaches them.
"""

from __future__ import annotations

import sys

from bearerguard import _native


def main() -> None:
    """Runs the command line of this process and exits with its status."""
    sys.stdout.flush()
    sys.exit(_native.cli_main(["bearerguard", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
