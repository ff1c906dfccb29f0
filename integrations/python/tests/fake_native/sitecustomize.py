"""Test double for ``tracesnap._recording``, put in place by ``PYTHONPATH=<this dir>``.

It records nothing: it logs how it was called to ``$FAKE_NATIVE_LOG`` (JSON lines) and writes a
minimal trace to its json sink, so the runner and the API can be tested before (and
independently of) the native binding.
"""

import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
import tracesnap_fake_recording  # noqa: E402

sys.modules["tracesnap._recording"] = tracesnap_fake_recording
sys.path.pop(0)
