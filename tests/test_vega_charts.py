"""The Altair charts of Graph Inspector and Recommend: their data against hand-computed values,
and every chart compiled by Vega-Lite itself (``vl-convert``, offline). A spec Vega-Lite cannot
compile draws nothing in the browser and raises nowhere in Python: layers that state one axis
differently once left Graph Inspector's ego view blank, with no error on the page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc

from app.components.compare_charts import experiment_chart
from app.components.ego_charts import SIGNS, bipartite_chart, ego_edges, signed_matrix_chart
from app.components.recommend_charts import attribution_chart, attribution_steps, clip_chart, top_k_heatmap
from frame_core.common import schema as S
from frame_core.model.attribution import PARTS


def compiles(chart) -> dict:
    """The chart compiled to a Vega spec (raises ValueError when Vega-Lite cannot compile it)."""
    return vlc.vegalite_to_vega(chart.to_dict())


EDGES = pd.DataFrame({
    "user": ["u1", "u1", "u2", "u2"],
    "clip_name": ["a#0", "a#1", "a#0", "b#0"],
    "sign": [1, -1, 1, 1],
    "weight": [0.5, 0.25, 0.125, 0.75],
})
USERS, CLIPS, CLIP_VIDEO = ["u1", "u2"], ["a#0", "a#1", "b#0"], ["a", "a", "b"]


def test_ego_edges_positions_and_degrees_by_hand():
    d = ego_edges(EDGES, USERS, CLIPS, CLIP_VIDEO)
    # span = 3 slots; users at 0 and −2; clips at −(0, 1, 2 + 0.8) scaled by 3 / 3.8
    np.testing.assert_allclose(d["users"]["y"], [0.0, -2.0])
    np.testing.assert_allclose(d["clips"]["y"], [0.0, -3 / 3.8, -2.8 * 3 / 3.8])
    e = d["edges"]
    assert list(e["kind"]) == [SIGNS[0], SIGNS[1], SIGNS[0], SIGNS[0]]
    np.testing.assert_allclose(e["y0"], [0.0, 0.0, -2.0, -2.0])
    np.testing.assert_allclose(e["ymid"], (e["y0"] + e["y1"]) / 2)
    np.testing.assert_allclose(e["weight"], EDGES["weight"])
    assert list(d["users"]["positive"]) == [1, 2] and list(d["users"]["negative"]) == [1, 0]
    assert list(d["clips"]["positive"]) == [2, 0, 1] and list(d["clips"]["negative"]) == [0, 1, 0]


def test_ego_edges_drop_edges_to_nodes_not_drawn_and_show_hidden_characters():
    d = ego_edges(EDGES, ["u1"], ["a#0"], ["a"])
    assert len(d["edges"]) == 1 and d["edges"]["user"].iloc[0] == "u1"
    rtl = "\u202egpj.exe"
    d = ego_edges(EDGES.assign(user=[rtl] * 4), [rtl], CLIPS, CLIP_VIDEO)
    assert d["users"]["name"].iloc[0] == "\\u202egpj.exe" and set(d["edges"]["user"]) == {"\\u202egpj.exe"}


def test_attribution_steps_by_hand():
    out = {"baseline": 0.4, "score": 0.55, "parts": dict(zip(PARTS, [0.1, -0.05, 0.1], strict=True))}
    df = attribution_steps(out, "v9")
    assert list(df["kind"]) == ["start", "up", "down", "up", "total"]
    np.testing.assert_allclose(df["start"], [0.0, 0.4, 0.5, 0.45, 0.0])
    np.testing.assert_allclose(df["end"], [0.4, 0.5, 0.45, 0.55, 0.55])
    assert list(df["label"]) == ["0.400", "+0.100", "-0.050", "+0.100", "0.550"]
    assert df["name"].iloc[-1] == "video v9"


def _top() -> pd.DataFrame:
    return pd.DataFrame({S.VIDEO: ["v1", "v2"], "p_clip_0": [0.95, 0.72], "p_clip_1": [0.99, 0.97]})


def test_top_k_heatmap_colour_scale_starts_below_the_data():
    spec = top_k_heatmap(_top(), ["p_clip_0", "p_clip_1"]).to_dict()
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert scale["domain"] == [0.7, 1]  # floor(0.72 · 10) / 10
    assert "starts at 0.7" in spec["title"]
    high = _top().assign(p_clip_0=[0.95, 0.96])
    assert top_k_heatmap(high, ["p_clip_0", "p_clip_1"]).to_dict()["layer"][0]["encoding"]["color"]["scale"]["domain"] == [0.9, 1]


RES = pd.DataFrame({"nc": [8, 8, 8, 1, 1, 1], "seed": [0, 1, 2] * 2, "auc": [0.70, 0.72, 0.74, 0.66, 0.66, 0.69]})


def test_experiment_chart_means_and_spread_by_hand():
    spec = experiment_chart(RES).to_dict()
    layers = {layer["mark"]["type"]: spec["datasets"][layer["data"]["name"]] for layer in spec["layer"]}
    means = pd.DataFrame(layers["point"])
    assert list(means["model"]) == ["N_c = 8 (FRAME)", "N_c = 1 (coarse)"]
    np.testing.assert_allclose(means["auc"], [0.72, 0.67])
    np.testing.assert_allclose(means["std"], [0.02, np.std([0.66, 0.66, 0.69], ddof=1)])  # sample std over seeds
    np.testing.assert_allclose(means["high"] - means["low"], 2 * means["std"])
    assert len(layers["circle"]) == 6  # one dot per seed
    # the axis pads by the spread of the seeds (0.74 − 0.66), at least 0.02
    assert spec["layer"][1]["encoding"]["y"]["scale"]["domain"] == pytest.approx([0.58, 0.82])


ATT = {"baseline": 0.3, "score": 0.42, "parts": dict(zip(PARTS, [0.2, -0.1, 0.02], strict=True))}


@pytest.mark.parametrize("make", [
    lambda: bipartite_chart(EDGES, USERS, CLIPS, CLIP_VIDEO, "User u1"),
    lambda: bipartite_chart(EDGES.iloc[:0], USERS, CLIPS, CLIP_VIDEO, "no edges"),
    lambda: signed_matrix_chart(np.array([[1, -1, 0], [0, 1, 1]]), np.array([[False, True, False], [False] * 3]),
                                USERS, CLIPS, "R^P − R^N"),
    lambda: top_k_heatmap(_top(), ["p_clip_0", "p_clip_1"]),
    lambda: attribution_chart(ATT, "v1"),
    lambda: clip_chart(np.array([0.9, 0.7, 0.95]), 12.0, "product", None, "curve"),
    lambda: clip_chart(np.array([0.9, 0.7, 0.95]), 12.0, "product", {"full_view": True}, "curve"),
    lambda: clip_chart(np.array([0.9, 0.7, 0.95]), 12.0, "product",
                       {"full_view": False, "skip_clip": 1, S.PLAY: 5.5}, "curve"),
    lambda: experiment_chart(RES),
], ids=["bipartite", "bipartite-empty", "signed", "heatmap", "attribution", "clip", "clip-full", "clip-skip", "experiment"])
def test_every_chart_compiles_and_renders_in_vega(make):
    chart = make()
    compiles(chart)  # Vega-Lite: raises where a browser would draw nothing
    svg = vlc.vegalite_to_svg(chart.to_dict())  # Vega's dataflow run on the data, as in the browser
    title = chart.to_dict()["title"]
    for line in title if isinstance(title, list) else [title]:
        assert line.split(" (")[0] in svg


def test_the_ego_view_draws_one_line_per_edge():
    svg = vlc.vegalite_to_svg(bipartite_chart(EDGES, USERS, CLIPS, CLIP_VIDEO, "User u1").to_dict())
    assert svg.count('aria-roledescription="rule mark"') == len(EDGES)  # rendered, not only specified
    assert svg.count('aria-roledescription="circle"') == len(EDGES)  # each edge's hover point (its R̃)


def test_signed_matrix_cells_and_labels():
    spec = signed_matrix_chart(np.array([[1, -1], [0, 1]]), np.array([[False, True], [False, False]]),
                               ["u1", "u2"], ["a#0", "a#1"], "t").to_dict()
    rows = pd.DataFrame(next(iter(spec["datasets"].values())))
    assert list(rows["label"]) == ["+1", "±", "", "+1"]
    assert list(rows["user"]) == ["u1", "u1", "u2", "u2"] and list(rows["clip"]) == ["a#0", "a#1", "a#0", "a#1"]
