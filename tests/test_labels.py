"""Edge labels of the network diagrams: each on its own edge, placed in about linear time, and left out (with a
table of the values) past a readable size."""
from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest

import tracer
from tracer.export.html.labels import Box, Edge, place, point_segment_distance, segments_cross
from tracer.export.html.mathml import Fmt
from tracer.export.html.svg import network_figure, network_svg
from tracer.io.resources import example_paths
from tracer.model.notation import profile
from tracer.model.spec import parse_spec
from nets import random_net_dict

MARGIN = 4.0  # px: a label's centre is at least this much nearer its own edge than any other

LINE = re.compile(r'<line x1="([-\d.]+)" y1="([-\d.]+)" x2="([-\d.]+)" y2="([-\d.]+)" (?:class="edge"|stroke=)')
HALO = re.compile(r'<rect x="([-\d.]+)" y="([-\d.]+)" width="([\d.]+)" height="([\d.]+)" rx="4" class="halo"/>')


def random_net(sizes: tuple[int, ...], seed: int = 1):
    """A dense sigmoid net of the given sizes with Xavier weights, two steps of online training."""
    return parse_spec(random_net_dict(sizes, seed))


def diagrams(spec):
    """The initial network and step 1's arrows of weight changes, as network_svg draws them."""
    trace = tracer.run(spec, epochs=1)
    names, fmt = profile(None, spec), Fmt(4)
    initial = np.concatenate([l.weights.ravel() for l in spec.layers])
    step1 = trace.updates[trace.updates["step"] == 1]
    return [network_svg(spec, names, fmt, initial),
            network_svg(spec, names, fmt, step1["w_old"].to_numpy(), step1["delta_w"].to_numpy())]


def assert_labels_on_their_own_edges(svg: str) -> int:
    """Every label's centre is nearer its own edge (the n-th line for the n-th label) than any other, by MARGIN."""
    lines = [tuple(map(float, m)) for m in LINE.findall(svg)]
    halos = [tuple(map(float, m)) for m in HALO.findall(svg)]
    assert not halos or len(halos) == len(lines)
    for n, (x, y, w, h) in enumerate(halos):
        cx, cy = x + w / 2, y + h / 2
        distances = [point_segment_distance(cx, cy, seg) for seg in lines]
        own = distances.pop(n)
        assert not distances or own + MARGIN <= min(distances), (n, own, min(distances))
    return len(halos)


DENSE = [p for p in example_paths() if not tracer.load_spec(p).grids]  # conv and rnn nets: a chain of blocks


@pytest.mark.parametrize("example", DENSE, ids=[p.stem for p in DENSE])
def test_labels_sit_on_their_own_edges_in_every_dense_example(example):
    labelled = [assert_labels_on_their_own_edges(svg) for svg, values in diagrams(tracer.load_spec(example))]
    assert any(labelled), "every bundled example is small enough to be labelled"


@pytest.mark.parametrize("sizes", [(3, 5, 3), (2, 3, 2), (3, 2, 2), (4, 4, 4, 2)])
def test_labels_sit_on_their_own_edges_in_random_nets(sizes):
    for seed in (1, 2):
        for svg, values in diagrams(random_net(sizes, seed)):
            assert assert_labels_on_their_own_edges(svg) or values


def test_past_a_readable_size_the_values_go_to_a_table_beside_the_diagram():
    spec = random_net((6, 8, 4))
    names, fmt = profile(None, spec), Fmt(4)
    initial = np.concatenate([l.weights.ravel() for l in spec.layers])
    figure = network_figure(spec, names, fmt, initial)
    assert "class=\"wlabel\"" not in figure["svg"]
    assert "92 connections are too many to label" in figure["caption"]
    pairs = [pair for row in figure["rows"] for pair in row]
    assert len(pairs) == 92 and pairs[0][1] == fmt(initial[0])
    ekman = tracer.load_spec("ekman")
    small = network_figure(ekman, profile(None, ekman), fmt, np.zeros(5))
    assert small["caption"] == "" and small["rows"] == []


def test_placement_time_grows_about_linearly():
    """Twice the labels take about twice the time, not four times: rows of short edges, 800 then 1,600 labels
    (enough work that a run's CPU time is not mostly noise)."""
    def problem(rows):
        edges = [Edge(60.0 + 200 * c, 40.0 + 50 * r, 200.0 + 200 * c, 40.0 + 50 * r, 1.2, f"w_{r}{c} = 0.25", "")
                 for r in range(rows) for c in range(10)]
        return edges, Box(0, 0, 2100, 60 + 50 * rows)

    def seconds(edges, area):
        start = time.process_time()
        assert place(edges, [], area) is not None
        return time.process_time() - start

    sizes = {"small": problem(80), "large": problem(160)}
    best = {name: math.inf for name in sizes}
    for _ in range(5):  # interleaved, the best of each: a busy machine slows both alike
        for name, (edges, area) in sizes.items():
            best[name] = min(best[name], seconds(edges, area))
    small, large = best["small"], best["large"]
    assert large < 3 * small, (small, large)


def test_large_nets_are_drawn_at_once():
    spec = random_net((20, 30, 10))
    names, fmt = profile(None, spec), Fmt(2)
    start = time.process_time()
    svg, values = network_svg(spec, names, fmt, np.concatenate([l.weights.ravel() for l in spec.layers]))
    assert time.process_time() - start < 2.0 and len(values) == 940


def test_box_to_segment_distance_is_exact():
    box = Box(0, 0, 10, 10)
    assert box.distance_to_segment((20, -5, 20, 15)) == 10  # beside
    assert box.distance_to_segment((-5, 5, 15, 5)) == 0  # through
    assert box.distance_to_segment((2, 2, 3, 3)) == 0  # inside
    assert math.isclose(box.distance_to_segment((13, 14, 20, 20)), 5)  # off a corner
    assert segments_cross((0, 0, 2, 2), (0, 2, 2, 0)) and not segments_cross((0, 0, 1, 0), (0, 1, 1, 1))


@pytest.mark.parametrize("sizes", [(5, 5, 1), (10, 10, 1)])
def test_a_report_of_a_ten_unit_layer_takes_seconds(sizes):
    """The report of a 10-10-1 net over 8 steps (it took 589 s, a 5-5-1 net 37 s, when the placer was
    quadratic): every step written out, in well under 10 s of CPU."""
    from tracer.export.html import render_report

    trace = tracer.run(tracer.parse_spec(random_net_dict(sizes, samples=8, steps="1-8")))
    start = time.process_time()
    html = render_report(trace)
    assert time.process_time() - start < 10
    assert html.count('<section class="step">') == 8
