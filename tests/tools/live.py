"""The data a live page carries for its runtime: the JSON of its `live-data` script element."""
from __future__ import annotations

import json
import re


def live_data(page: str) -> dict:
    """The live page's data (givens, plans, the spec document and each given's place in it, ...)."""
    text = re.search(r'<script id="live-data" type="application/json">(.*?)</script>', page, re.S).group(1)
    return json.loads(text)
