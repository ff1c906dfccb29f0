"""Process entry point of ``tracesnap record``.

The Swift CLI runs ``execv(<python>, [<python>, <this file>])`` with the JSON request in the
environment variable ``TRACESNAP_RECORD_REQUEST`` (see ``_runner.py``). The interpreter need not
have tracesnap installed: this file puts the directory that holds the ``tracesnap`` package on
``sys.path`` just long enough to import the runner, then takes it off again so the script sees
the same ``sys.path`` as under ``python SCRIPT``.

Keep this file tiny and free of imports beyond ``os`` and ``sys``: everything it imports shows
up in the traced program's ``sys.modules``.
"""

import os
import sys


def _import_runner():
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, package_parent)
    try:
        from tracesnap import _runner
    finally:
        try:
            sys.path.remove(package_parent)
        except ValueError:
            pass
    return _runner


_preloaded = frozenset(sys.modules)
_import_runner().main(launcher=os.path.abspath(__file__), preloaded=_preloaded)
