"""backprop-tracer: train a feed-forward network with backpropagation and record every intermediate value."""
from .engine import forward, run
from .errors import SpecError, TracerError, TracerWarning
from .spec import Spec, load_spec, parse_spec
from .trace import Trace

__all__ = ["Spec", "SpecError", "Trace", "TracerError", "TracerWarning", "forward", "load_spec", "parse_spec", "run"]
