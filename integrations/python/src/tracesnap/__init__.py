"""tracesnap: record once, replay anywhere. A time-travel debugger for Python.

    import tracesnap

    with tracesnap.record(trace_id="demo") as rec:      # context manager
        do_stuff()
    rec.path, rec.event_count, rec.trace

    @tracesnap.record(trace_id="checkout")              # decorator
    def checkout(items, coupon): ...

    tracesnap.start_recording(trace_id="x", source_files=[__file__])   # imperative
    try:
        do_stuff()
    finally:
        trace = tracesnap.stop_recording()
    tracesnap.write_trace(trace, "trace.json")

The recorder is native code loaded into this process on first use; importing tracesnap loads
nothing but this small Python layer.
"""

from . import redaction
from ._api import Recording, record, start_recording, stop_recording
from ._io import load_trace, write_trace

__version__ = "0.3.0"

__all__ = [
    "record",
    "start_recording",
    "stop_recording",
    "write_trace",
    "load_trace",
    "Recording",
    "redaction",
    "__version__",
]
