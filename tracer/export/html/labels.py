"""Where the network diagram's edge labels go: on their own edge, clear of every other label, node and stroke.

Text extents are estimated from the font (DejaVu Sans advances about 0.6 em per character; scripts are set
smaller), with a margin; each label tries positions along its edge, above then below it, and takes the first
that is clear. When one finds no place, the caller spreads the diagram and tries again.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

FONT = 14.0  # px: edge labels (at most the page's width, the diagram is not scaled down)
SCRIPT_FONT = 12.0  # px: their sub- and superscripts
ADVANCE = 0.62  # em per character, a little over DejaVu Sans' average
PAD = 3.0  # px kept clear around every label
SCRIPTED = re.compile(r"·10\^(?P<power>−?\d+)|(?P<mark>[_^])\{?(?P<text>[^\W_]+(?:[-,][^\W_]+)*)\}?")  # as svg_text sets


@dataclass(frozen=True)
class Box:
    """A text's extent: left, top, right, bottom in px."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: "Box", pad: float = PAD) -> bool:
        return not (self.x1 + pad <= other.x0 or other.x1 + pad <= self.x0 or
                    self.y1 + pad <= other.y0 or other.y1 + pad <= self.y0)

    def near_circle(self, cx: float, cy: float, r: float, pad: float = 2 * PAD) -> bool:
        nx, ny = min(max(cx, self.x0), self.x1), min(max(cy, self.y0), self.y1)
        return math.hypot(cx - nx, cy - ny) < r + pad

    def near_segment(self, seg: tuple, half_width: float, pad: float = PAD) -> bool:
        """Whether a stroke (segment x1, y1, x2, y2 of half its width) comes within pad of the box."""
        x1, y1, x2, y2 = seg
        steps = max(2, int(math.hypot(x2 - x1, y2 - y1) / 4))
        grown = Box(self.x0 - half_width - pad, self.y0 - half_width - pad,
                    self.x1 + half_width + pad, self.y1 + half_width + pad)
        return any(grown.x0 <= x1 + (x2 - x1) * k / steps <= grown.x1 and
                   grown.y0 <= y1 + (y2 - y1) * k / steps <= grown.y1 for k in range(steps + 1))


def text_width(label: str) -> float:
    """Estimated width in px of a label as svg_text sets it (scripts smaller, markup not shown)."""
    width, pos = 0.0, 0
    for m in SCRIPTED.finditer(label):
        width += len(label[pos:m.start()]) * ADVANCE * FONT
        if m["power"] is not None:  # ·10 then the exponent
            width += 3 * ADVANCE * FONT + len(m["power"]) * ADVANCE * SCRIPT_FONT
        else:
            width += len(m["text"]) * ADVANCE * SCRIPT_FONT
        pos = m.end()
    return width + len(label[pos:]) * ADVANCE * FONT


def text_box(x: float, baseline: float, label: str) -> Box:
    """The box of a label centred on x (text-anchor middle) with its baseline at `baseline`."""
    half = text_width(label) / 2
    return Box(x - half, baseline - FONT * 0.95 - 3, x + half, baseline + FONT * 0.3 + 2)


@dataclass(frozen=True)
class Edge:
    """A connection drawn from (x1, y1) to (x2, y2) with its stroke width and its label."""

    x1: float
    y1: float
    x2: float
    y2: float
    width: float
    label: str  # what is written beside it
    title: str  # its tooltip: the name and the value

    @property
    def segment(self) -> tuple:
        return self.x1, self.y1, self.x2, self.y2


def place(edges: list[Edge], circles: list[tuple[float, float, float]], area: Box) -> tuple[list, int] | None:
    """(x, baseline) of each edge's label, none overlapping another label, a node, a thick stroke or the
    diagram's border, each where it crosses the fewest thin lines; with the number of crossings left. None
    when some label finds no place at all."""
    placed: list[Box] = []
    out, crossings = [], 0
    thick = [e for e in edges if e.width > 2]
    for edge in edges:
        best = None
        for spot, box in _candidates(edge, area):
            if any(box.overlaps(b) for b in placed) or any(box.near_circle(*c) for c in circles):
                continue
            if any(box.near_segment(e.segment, e.width / 2) for e in thick + [edge]):
                continue
            crossed = sum(box.near_segment(e.segment, e.width / 2, pad=1.0) for e in edges if e is not edge)
            if best is None or crossed < best[0]:
                best = (crossed, spot, box)
                if crossed == 0:
                    break
        if best is None:
            return None
        crossings += best[0]
        out.append(best[1])
        placed.append(best[2])
    return out, crossings


def _candidates(edge: Edge, area: Box):
    """Positions along an edge (from its middle outwards): above it, below it, then beside it (for steep
    edges), each a little further off if need be; only those inside the diagram."""
    half_text = text_width(edge.label) / 2
    for t in _along():
        px, py = edge.x1 + (edge.x2 - edge.x1) * t, edge.y1 + (edge.y2 - edge.y1) * t
        clear = edge.width / 2 + 4
        for lift in (0.0, 8.0, 16.0, 26.0):
            spots = [(px, py - clear - FONT * 0.3 - lift),  # above
                     (px, py + clear + FONT + lift),  # below
                     (px + clear + half_text + lift, py + FONT * 0.35),  # right
                     (px - clear - half_text - lift, py + FONT * 0.35)]  # left
            for x, baseline in spots:
                box = text_box(x, baseline, edge.label)
                if area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0 and box.y1 <= area.y1:
                    yield (x, baseline), box


def _along() -> list[float]:
    """Positions along an edge, from its middle outwards."""
    ts = [0.5]
    for d in range(1, 10):
        ts += [0.5 - 0.04 * d, 0.5 + 0.04 * d]
    return ts
