"""Where the network diagram's edge labels go: centred on their own edge, clear of every other label, node and
line.

Each label sits on its own line (a white halo hides the stroke behind it), so the edge nearest its centre is
its own. Candidate spots run along the edge from the middle outwards; one greedy pass takes, for each edge, the
first spot whose box keeps clear of every label already placed, every node and every other line. The
obstacles live in a grid of cells (a spatial index), and boxes are tested against lines by their exact
distance, so placing n labels costs about n times the candidates. When one label finds no spot the caller
spreads the diagram and tries again, and past a readable size it leaves the labels out.

Text extents are estimated from the font (DejaVu Sans advances about 0.6 em per character; scripts are set
smaller), with a margin.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass

FONT = 14.0  # px: edge labels (at most the page's width, the diagram is not scaled down)
SCRIPT_FONT = 12.0  # px: their sub- and superscripts
ADVANCE = 0.62  # em per character, a little over DejaVu Sans' average
PAD = 3.0  # px kept clear around every label
CELL = 48.0  # px: the side of the spatial index's cells
MARGIN = 6.0  # px: a label's centre is at least this much nearer its own edge than any other
ALONG = [0.5] + [0.5 + s * 0.035 * d for d in range(1, 11) for s in (-1, 1)]  # from the middle outwards
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

    @property
    def corners(self) -> tuple:
        """Top left, top right, bottom right, bottom left."""
        return (self.x0, self.y0), (self.x1, self.y0), (self.x1, self.y1), (self.x0, self.y1)

    def grown(self, by: float) -> "Box":
        return Box(self.x0 - by, self.y0 - by, self.x1 + by, self.y1 + by)

    def distance_to_segment(self, seg: tuple) -> float:
        """The exact distance between the box and a segment (x1, y1, x2, y2); 0 where they meet."""
        x1, y1, x2, y2 = seg
        if self._contains(x1, y1) or self._contains(x2, y2) or self._crossed_by(seg):
            return 0.0
        to_corners = min(point_segment_distance(cx, cy, seg) for cx, cy in self.corners)
        return min(to_corners, self._distance_to_point(x1, y1), self._distance_to_point(x2, y2))

    def _contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def _distance_to_point(self, x: float, y: float) -> float:
        return math.hypot(max(self.x0 - x, 0.0, x - self.x1), max(self.y0 - y, 0.0, y - self.y1))

    def _crossed_by(self, seg: tuple) -> bool:
        """Whether the segment crosses one of the box's sides."""
        corners = self.corners
        return any(segments_cross(seg, (*corners[i], *corners[(i + 1) % 4])) for i in range(4))


def point_segment_distance(px: float, py: float, seg: tuple) -> float:
    """The distance from a point to a segment."""
    x1, y1, x2, y2 = seg
    dx, dy = x2 - x1, y2 - y1
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else min(1.0, max(0.0, ((px - x1) * dx + (py - y1) * dy) / length2))
    return math.hypot(px - (x1 + t * dx), py - (y1 + t * dy))


def segments_cross(a: tuple, b: tuple) -> bool:
    """Whether two segments intersect (touching counts)."""
    def side(x1, y1, x2, y2, px, py):
        return (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)

    d1, d2 = side(*b, a[0], a[1]), side(*b, a[2], a[3])
    d3, d4 = side(*a, b[0], b[1]), side(*a, b[2], b[3])
    return d1 * d2 <= 0 and d3 * d4 <= 0 and (d1, d2, d3, d4) != (0, 0, 0, 0)


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


BOX_ABOVE, BOX_BELOW = FONT * 0.95 + 3, FONT * 0.3 + 2  # px from the baseline to the box's top and bottom
CENTRE_LIFT = (BOX_ABOVE - BOX_BELOW) / 2  # px from the baseline up to the box's middle


def text_box(x: float, baseline: float, label: str) -> Box:
    """The box of a label centred on x (text-anchor middle) with its baseline at `baseline`."""
    half = text_width(label) / 2
    return Box(x - half, baseline - BOX_ABOVE, x + half, baseline + BOX_BELOW)


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

    @property
    def length(self) -> float:
        return math.hypot(self.x2 - self.x1, self.y2 - self.y1)


class Grid:
    """A spatial index: which obstacles (by number) lie in or near each CELL x CELL square."""

    def __init__(self):
        self.cells: dict[tuple[int, int], list[int]] = defaultdict(list)

    def add_box(self, n: int, box: Box, margin: float = 0.0) -> None:
        grown = box.grown(margin)
        for key in self._keys(grown.x0, grown.y0, grown.x1, grown.y1):
            self.cells[key].append(n)

    def add_segment(self, n: int, seg: tuple, margin: float) -> None:
        """Every cell within margin of the segment (sampled every CELL/2, each sample covering its neighbourhood)."""
        x1, y1, x2, y2 = seg
        samples = max(1, math.ceil(math.hypot(x2 - x1, y2 - y1) / (CELL / 2)))
        reach = CELL / 4 + margin
        keys = set()
        for k in range(samples + 1):
            x, y = x1 + (x2 - x1) * k / samples, y1 + (y2 - y1) * k / samples
            keys.update(self._keys(x - reach, y - reach, x + reach, y + reach))
        for key in keys:
            self.cells[key].append(n)

    def near(self, box: Box) -> set[int]:
        found: set[int] = set()
        for key in self._keys(box.x0, box.y0, box.x1, box.y1):
            found.update(self.cells.get(key, ()))
        return found

    @staticmethod
    def _keys(x0, y0, x1, y1):
        return [(i, j) for i in range(math.floor(x0 / CELL), math.floor(x1 / CELL) + 1)
                for j in range(math.floor(y0 / CELL), math.floor(y1 / CELL) + 1)]


def place(edges: list[Edge], circles: list[tuple[float, float, float]], area: Box) -> list | None:
    """(x, baseline) of each edge's label, centred on its own edge and clear of every other label, node and
    line and of the diagram's border; None when some label finds no spot."""
    lines, nodes, labels = Grid(), Grid(), Grid()
    for n, edge in enumerate(edges):
        lines.add_segment(n, edge.segment, edge.width / 2 + PAD)
    for n, (cx, cy, r) in enumerate(circles):
        nodes.add_box(n, Box(cx - r, cy - r, cx + r, cy + r), 2 * PAD)
    placed: list[Box] = []
    out = [None] * len(edges)
    for n in sorted(range(len(edges)), key=lambda n: edges[n].length):  # the shortest, most hemmed in, first
        spot = _first_clear(n, edges, circles, area, lines, nodes, labels, placed)
        if spot is None:
            return None
        out[n] = spot[0]
        labels.add_box(len(placed), spot[1], PAD)
        placed.append(spot[1])
    return out


def _first_clear(n, edges, circles, area, lines, nodes, labels, placed):
    """The first spot along edge n whose label box is clear of everything already there, and whose centre is
    nearer its own edge than any other by MARGIN: (spot, box) or None."""
    edge = edges[n]
    for cx, cy in _spots(edge):
        baseline = cy + CENTRE_LIFT
        box = text_box(cx, baseline, edge.label)
        if not (area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0 and box.y1 <= area.y1):
            continue
        if any(box.overlaps(placed[k]) for k in labels.near(box)):
            continue
        if any(box.near_circle(*circles[k]) for k in nodes.near(box)):
            continue
        others = [k for k in lines.near(box.grown(MARGIN + CELL / 2)) if k != n]
        if any(box.distance_to_segment(edges[k].segment) < edges[k].width / 2 + PAD for k in others):
            continue
        own = point_segment_distance(cx, cy, edge.segment)
        if any(point_segment_distance(cx, cy, edges[k].segment) < own + MARGIN for k in others):
            continue
        return (cx, baseline), box
    return None


def _spots(edge: Edge):
    """Label centres along an edge from its middle outwards: on the line, then just beside it on either side;
    last, for edges too short to hold a label between their nodes, past the start, in line with the edge."""
    dx, dy = edge.x2 - edge.x1, edge.y2 - edge.y1
    length = edge.length or 1.0
    nx, ny = -dy / length, dx / length  # the unit normal
    half_w, half_h = text_width(edge.label) / 2, (BOX_ABOVE + BOX_BELOW) / 2
    beside = abs(nx) * half_w + abs(ny) * half_h + edge.width / 2 + 2  # the box's centre just off the line
    for t in ALONG:
        px, py = edge.x1 + dx * t, edge.y1 + dy * t
        yield px, py
        yield px + nx * beside, py + ny * beside
        yield px - nx * beside, py - ny * beside
    ahead = abs(dx) / length * half_w + abs(dy) / length * half_h  # the box's reach along the line
    for gap in (30.0, 40.0):  # past the start, beyond a small node there (a bias's 1): the line points at it
        yield edge.x1 - dx / length * (ahead + gap), edge.y1 - dy / length * (ahead + gap)
