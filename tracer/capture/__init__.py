"""Recording users' own training code (a NumPy loop, or PyTorch through tracer.torch) into a Trace."""
from .recorder import Recorder, batches

__all__ = ["Recorder", "batches"]
