"""Graph Inspector's charts: the ego view of one user or video (a bipartite drawing of its
positive and negative user–clip edges) and the signed interaction matrix of the selection.

They are Altair (Vega-Lite) charts, not Plotly: Skip Explorer's heatmap has already loaded
Vega in the browser by the time a user opens this page, while the first Plotly chart of a
browser session loads and compiles Plotly's 4.7 MB bundle (about 2 CPU seconds per session;
README "The app under load"). Vega draws text as text, so ids need no HTML escaping; bidi and
invisible characters are still shown as ``\\uXXXX`` (:func:`frame_core.common.display.visible`).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from frame_core.common.display import visible

GREEN = "#16a34a"
RED = "#dc2626"
BLUE = "#2563eb"
NODE = "#334155"
SIGNS = ["positive edge (R^P)", "negative edge (R^N)"]


def _positions(users: list[str], clips: list[str], clip_video: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Vertical positions: users evenly spread on the left, clips on the right with a gap
    between videos, both over the same span (0 at the top, negative downwards)."""
    n_u, n_c = len(users), len(clips)
    span = max(n_u, n_c, 1)
    if n_c:
        gaps = np.concatenate([[0], np.cumsum([clip_video[i] != clip_video[i - 1] for i in range(1, n_c)])])
        cy = -(np.arange(n_c) + gaps * 0.8)
        cy = cy * (span / max(-cy.min() + 1, 1))
    else:
        cy = np.zeros(0)
    uy = -np.linspace(0, span - 1, n_u) if n_u > 1 else np.full(n_u, -(span - 1) / 2.0)
    return uy, cy


def ego_edges(edges: pd.DataFrame, users: list[str], clips: list[str], clip_video: list[str]) -> dict[str, pd.DataFrame]:
    """The drawing's data: ``edges`` (one row per drawn edge: user, clip, kind, R̃, y0, y1),
    ``users`` and ``clips`` (one row per node: name, y, label, degrees). ``edges`` needs columns
    ``user``, ``clip_name``, ``sign`` (+1 positive, −1 negative) and ``weight`` (R̃)."""
    uy, cy = _positions(users, clips, clip_video)
    upos, cpos = dict(zip(users, uy)), dict(zip(clips, cy))
    e = edges.assign(user=edges["user"].astype(str))
    e = e[e["user"].isin(upos) & e["clip_name"].isin(cpos)]
    out = pd.DataFrame({
        "user": [visible(u) for u in e["user"]],
        "clip": [visible(c) for c in e["clip_name"]],
        "kind": np.where(e["sign"].to_numpy() > 0, SIGNS[0], SIGNS[1]),
        "weight": e["weight"].to_numpy(dtype="float64"),
        "y0": e["user"].map(upos).to_numpy(dtype="float64"),
        "y1": e["clip_name"].map(cpos).to_numpy(dtype="float64"),
    })
    out["ymid"] = (out["y0"] + out["y1"]) / 2

    def degrees(key: str, names: list[str]) -> tuple[list[int], list[int]]:
        pos = e[e["sign"] > 0].groupby(key).size()
        neg = e[e["sign"] < 0].groupby(key).size()
        return [int(pos.get(n, 0)) for n in names], [int(neg.get(n, 0)) for n in names]

    up, un = degrees("user", users)
    cp, cn = degrees("clip_name", clips)
    nodes_u = pd.DataFrame({"name": [visible(u) for u in users], "y": uy, "positive": up, "negative": un})
    nodes_c = pd.DataFrame({"name": [visible(c) for c in clips], "y": cy, "positive": cp, "negative": cn})
    return {"edges": out, "users": nodes_u, "clips": nodes_c}


def bipartite_chart(edges: pd.DataFrame, users: list[str], clips: list[str], clip_video: list[str],
                    title: str) -> alt.LayerChart:
    """Users on the left, clips on the right (grouped by video), positive edges solid green,
    negative edges dashed red; hovering an edge's midpoint shows its R̃ value. Arguments as
    :func:`ego_edges`; ``clips`` are clip names in drawing order, ``clip_video`` their videos."""
    d = ego_edges(edges, users, clips, clip_video)
    def x(field: str) -> alt.X:  # every layer states the same axes: Vega-Lite cannot merge a hidden axis with a default one
        return alt.X(f"{field}:Q", scale=alt.Scale(domain=[-0.45, 1.45]), title=None,
                     axis=alt.Axis(values=[0, 1], orient="top", grid=False, domain=False, ticks=False,
                                   labelExpr="datum.value == 0 ? 'users' : 'clips (video#clip)'"))

    def y(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", axis=None, scale=alt.Scale(zero=False, nice=False))

    kind = alt.Color("kind:N", scale=alt.Scale(domain=SIGNS, range=[GREEN, RED]),
                     legend=alt.Legend(title=None, orient="bottom"))
    dash = alt.StrokeDash("kind:N", scale=alt.Scale(domain=SIGNS, range=[[1, 0], [5, 3]]), legend=None)
    tip = [alt.Tooltip("user:N"), alt.Tooltip("clip:N"), alt.Tooltip("kind:N", title="edge"),
           alt.Tooltip("weight:Q", title="R̃", format=".3f")]
    base = alt.Chart(d["edges"]).transform_calculate(x="0", x2="1", xm="0.5")
    lines = base.mark_rule(strokeWidth=1.6).encode(x=x("x"), x2="x2:Q", y=y("y0"), y2="y1:Q", color=kind,
                                                   strokeDash=dash, tooltip=tip)
    mids = base.mark_circle(size=36, opacity=0.5).encode(x=x("xm"), y=y("ymid"), color=kind, tooltip=tip)

    def nodes(df: pd.DataFrame, at: float, shape: str, colour: str, what: str, side: str, shown: str):
        c = alt.Chart(df).transform_calculate(x=str(at))
        tip_n = [alt.Tooltip("name:N", title=what), alt.Tooltip("positive:Q", title=f"positive {shown} shown"),
                 alt.Tooltip("negative:Q", title=f"negative {shown} shown")]
        dots = c.mark_point(shape=shape, filled=True, size=140, color=colour, opacity=1).encode(x=x("x"), y=y("y"), tooltip=tip_n)
        text = c.mark_text(align=side, dx=-10 if side == "right" else 10, fontSize=11, color=NODE).encode(
            x=x("x"), y=y("y"), text="name:N")
        return [dots, text]  # flat layers: Streamlit sends each layer's own data, not a nested layer's

    height = int(min(max(320, 22 * max(len(users), len(clips)) + 140), 1400))
    chart = alt.layer(lines, mids, *nodes(d["users"], 0.0, "circle", NODE, "user", "right", "clips"),
                      *nodes(d["clips"], 1.0, "square", BLUE, "clip", "left", "users"))
    return chart.properties(title=visible(title), height=height).configure_view(stroke=None)


def signed_matrix_chart(signed: np.ndarray, both: np.ndarray, rows: list[str], cols: list[str],
                        title: str, rp: np.ndarray | None = None, rn: np.ndarray | None = None) -> alt.LayerChart:
    """Heatmap of the signed interaction matrix (rows × cols): +1 positive (green), −1 negative
    (red), 0 none; cells with both a positive and a negative label show ±. ``rp`` and ``rn``
    (same shape: R̃ᴾ and R̃ᴺ of the cells) go into each cell's tooltip."""
    signed = np.asarray(signed, dtype="float64")
    both = np.asarray(both, dtype=bool)
    r_names, c_names = [visible(r) for r in rows], [visible(c) for c in cols]
    ri, ci = np.indices(signed.shape).reshape(2, -1)
    text = np.where(both, "±", np.where(signed > 0, "+1", np.where(signed < 0, "−1", "")))
    df = pd.DataFrame({
        "user": np.asarray(r_names, dtype=object)[ri],
        "clip": np.asarray(c_names, dtype=object)[ci],
        "value": signed.ravel(), "label": text.ravel(),
    })
    tip = [alt.Tooltip("user:N"), alt.Tooltip("clip:N"), alt.Tooltip("label:N", title="R^P − R^N")]
    for field, name, values in (("rp", "R̃ᴾ", rp), ("rn", "R̃ᴺ", rn)):
        if values is not None:
            df[field] = np.asarray(values, dtype="float64").ravel()
            tip.append(alt.Tooltip(f"{field}:Q", title=name, format=".3f"))
    enc = {"x": alt.X("clip:N", sort=c_names, title="clip (video#clip)", axis=alt.Axis(labelAngle=-90, labelOverlap=False, labelFontSize=9)),
           "y": alt.Y("user:N", sort=r_names, title="user"),
           "tooltip": tip}
    cells = alt.Chart(df).mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color("value:Q", scale=alt.Scale(domain=[-1, 0, 1], range=[RED, "#f8fafc", GREEN], interpolate="rgb"),
                        legend=alt.Legend(title="R^P − R^N", values=[-1, 0, 1], format="d")), **enc)
    # colour tells +1 from −1; only the rare cells with both labels carry a mark (text on every cell
    # is hundreds of SVG nodes for the browser to lay out, on a page many sessions open at once)
    marks = alt.Chart(df[df["label"] == "±"]).mark_text(fontSize=12, fontWeight="bold").encode(text="label:N", **enc)
    height = int(min(max(220, 26 * len(rows) + 150), 900))  # the element, axes and title included
    return (cells + marks).properties(title=visible(title), height=height)
