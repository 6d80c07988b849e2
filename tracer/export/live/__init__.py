"""The live page: the worked example in the browser, every number recomputed from the plan when a given is edited."""
from .page import live_html, write_live

__all__ = ["live_html", "write_live"]
