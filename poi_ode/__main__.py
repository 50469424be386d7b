"""``python -m poi_ode``: the ``poi-ode`` command (:func:`poi_ode.cli.main`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
