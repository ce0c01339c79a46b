"""Chart builders shared by the pages. Each returns a Plotly figure or an Altair chart with a
title, axis labels and units; pages only place them. No data loading here."""

from __future__ import annotations

import base64

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from frame_core.common import schema as S
from frame_core.common.display import visible

GREEN = "#16a34a"
RED = "#dc2626"
BLUE = "#2563eb"
GREY = "#94a3b8"
MAX_THUMBS = 64


def _esc(text) -> str:
    """Plotly renders a little HTML in titles, labels and hover text; ids from an uploaded log
    are shown as plain text, bidirectional and invisible characters as ``\\uXXXX``."""
    return visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vlines(xs, rows: int = 1) -> list[dict]:
    """Dotted vertical lines at ``xs`` across each subplot row, as plain layout shapes (one
    ``update_layout`` call; ``add_vline`` per line is quadratic in the number of shapes)."""
    shapes = []
    for r in range(1, rows + 1):
        ax = "" if r == 1 else str(r)
        for x in xs:
            shapes.append({
                "type": "line", "xref": f"x{ax}", "yref": f"y{ax} domain", "x0": float(x), "x1": float(x),
                "y0": 0, "y1": 1, "line": {"color": GREY, "width": 1, "dash": "dot"}, "layer": "below",
            })
    return shapes


def timeline_figure(
    curve: pd.DataFrame,
    bounds: pd.DataFrame,
    hist: pd.DataFrame,
    duration: float,
    nc: int,
    title: str,
    thumbs: list[bytes] | None = None,
    scenes: pd.DataFrame | None = None,
) -> go.Figure:
    """Retention curve (top), skip-position histogram (middle) and, when given, one still per
    clip (bottom), on one shared time axis in seconds. ``scenes`` (start, end in seconds,
    theme_name) shades ground-truth scenes behind the retention curve."""
    duration = float(duration) if np.isfinite(duration) and duration > 0 else 1.0
    has_thumbs = bool(thumbs) and any(thumbs)
    rows = 3 if has_thumbs else 2
    heights = [0.5, 0.32, 0.18] if has_thumbs else [0.58, 0.42]
    fig = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=heights,
        subplot_titles=(
            "Retention: share of views still playing",
            "Skip position: share of views that left in each clip",
            *(("Middle frame of each clip",) if has_thumbs else ()),
        ),
    )
    x = curve["position"].to_numpy() * duration
    fig.add_trace(
        go.Scatter(
            x=x, y=curve["retained"] * 100, mode="lines", name="retention (per position)",
            line={"color": BLUE, "shape": "hv"},
            hovertemplate="%{x:.1f} s: %{y:.1f}% of views still playing<extra></extra>",
        ),
        row=1, col=1,
    )
    bx = bounds["position"].to_numpy() * duration
    fig.add_trace(
        go.Scatter(
            x=bx, y=bounds["retained"] * 100, mode="markers", name="clip boundaries",
            marker={"color": BLUE, "size": 8, "symbol": "diamond"},
            customdata=np.stack([bounds["boundary"], bounds["views"]], axis=1),
            hovertemplate="boundary %{customdata[0]} (%{x:.1f} s): %{y:.1f}% "
            "(%{customdata[1]} views) reached it<extra></extra>",
        ),
        row=1, col=1,
    )
    width = duration / nc
    mid = (hist["start"].to_numpy() + hist["end"].to_numpy()) / 2 * duration
    custom = np.stack(
        [
            hist["clip"], hist["start"] * duration, hist["end"] * duration, hist["skips"],
            np.nan_to_num(hist["leave_rate"].to_numpy(dtype="float64") * 100, nan=0.0),
        ],
        axis=1,
    )
    fig.add_trace(
        go.Bar(
            x=mid, y=hist["skip_share"] * 100, width=width * 0.92, name="left in this clip",
            marker={"color": RED}, customdata=custom,
            hovertemplate="clip %{customdata[0]} (%{customdata[1]:.1f}–%{customdata[2]:.1f} s): "
            "%{customdata[3]} views left here = %{y:.1f}% of views; "
            "%{customdata[4]:.1f}% of those that reached it<extra></extra>",
        ),
        row=2, col=1,
    )
    shapes = _vlines(bx[1:-1], rows=2)
    if scenes is not None and len(scenes):
        palette = ["#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#ddd6fe", "#fed7aa", "#a5f3fc", "#f5d0fe"]
        for i, sc in enumerate(scenes.itertuples(index=False)):
            shapes.append({
                "type": "rect", "xref": "x", "yref": "y domain", "x0": float(sc.start), "x1": float(sc.end),
                "y0": 0, "y1": 1, "fillcolor": palette[i % len(palette)], "opacity": 0.45, "line": {"width": 0},
                "layer": "below",
            })
            fig.add_annotation(x=(float(sc.start) + float(sc.end)) / 2, y=4, xref="x", yref="y",
                               text=_esc(sc.theme_name), showarrow=False, font={"size": 10, "color": "#475569"})
    images = []
    if has_thumbs:
        images = [
            {
                "source": "data:image/jpeg;base64," + base64.b64encode(jpg).decode("ascii"),
                "xref": "x3", "yref": "y3", "x": c * width, "y": 1, "sizex": width, "sizey": 1,
                "xanchor": "left", "yanchor": "top", "sizing": "contain", "layer": "above",
            }
            for c, jpg in enumerate(thumbs[:MAX_THUMBS]) if jpg
        ]
        fig.update_yaxes(range=[0, 1], showticklabels=False, showgrid=False, zeroline=False, row=3, col=1)
        fig.add_trace(go.Scatter(x=[0, duration], y=[0, 0], mode="markers", marker={"opacity": 0},
                                 showlegend=False, hoverinfo="skip"), row=3, col=1)
    fig.update_yaxes(title_text="views still playing (%)", range=[0, 105], row=1, col=1)
    fig.update_yaxes(title_text="views that left (%)", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(range=[0, duration], row=rows, col=1, title_text="time in the video (s)")
    for r in range(1, rows + 1):
        fig.update_xaxes(range=[0, duration], row=r, col=1)
    fig.update_layout(
        shapes=shapes, images=images, title={"text": _esc(title)}, height=560 if has_thumbs else 480, bargap=0,
        legend={"orientation": "h", "y": -0.12}, margin={"t": 80, "b": 40},
    )
    return fig


def label_profile_figure(profile: pd.DataFrame, policy: str, title: str) -> go.Figure:
    """Stacked bars: per clip, how many views label it positive, negative or not at all."""
    x = profile["clip"].astype(str)
    fig = go.Figure()
    for col, color, name in (
        ("positive", GREEN, "positive (+)"), ("negative", RED, "negative (−)"), ("unlabelled", GREY, "unlabelled"),
    ):
        fig.add_trace(go.Bar(x=x, y=profile[col], name=name, marker={"color": color},
                             hovertemplate=f"clip %{{x}}: %{{y}} views {name}<extra></extra>"))
    fig.update_layout(
        barmode="stack", title={"text": _esc(title)}, height=320, xaxis_title="clip (0-based)",
        yaxis_title="views", legend={"orientation": "h", "y": -0.25}, margin={"t": 60},
    )
    return fig


def heatmap_chart(matrix: pd.DataFrame, summary: pd.DataFrame, nc: int, title: str) -> alt.Chart:
    """Altair heatmap (videos × clips, colour = share of the video's views that left in the clip)
    beside a bar of each video's full-view share. Clicking a heatmap cell selects its video
    (parameter ``pick``, field ``video_id``) and highlights it in both views."""
    order = [str(v) for v in matrix.index]
    long = matrix.copy()
    long.index = order
    long = long.rename_axis("video_id").reset_index().melt(id_vars="video_id", var_name="clip", value_name="skip_share")
    long["clip"] = long["clip"].astype(int)
    views = pd.Series(summary["views"].to_numpy(), index=order)
    long["views"] = long["video_id"].map(views).astype(int)
    long["skip_pct"] = long["skip_share"] * 100
    bars = pd.DataFrame(
        {
            "video_id": order,
            "views": summary["views"].to_numpy().astype(int),
            "full_pct": summary["full_view_share"].to_numpy() * 100,
            "early_pct": summary["early_skip_share"].to_numpy() * 100,
        }
    )
    pick = alt.selection_point(name="pick", fields=["video_id"], on="click", clear="dblclick")
    y = alt.Y("video_id:N", sort=order, title="video (id)", axis=alt.Axis(labelOverlap=False, labelLimit=140))
    height = max(160, min(20 * len(order), 2000))
    heat = (
        alt.Chart(long)
        .mark_rect()
        .encode(
            x=alt.X("clip:O", title=f"clip (0 … {nc - 1}, equal parts of the video)"),
            y=y,
            color=alt.Color("skip_pct:Q", title="left in clip (% of views)", scale=alt.Scale(scheme="reds")),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.35)),
            tooltip=[
                alt.Tooltip("video_id:N", title="video"),
                alt.Tooltip("clip:O", title="clip"),
                alt.Tooltip("skip_pct:Q", title="left here (% of views)", format=".1f"),
                alt.Tooltip("views:Q", title="views of the video"),
            ],
        )
        .add_params(pick)
        .properties(width=max(200, min(40 * nc, 640)), height=height, title="Where views ended")
    )
    full = (
        alt.Chart(bars)
        .mark_bar(color=GREEN)
        .encode(
            x=alt.X("full_pct:Q", title="full views (%)", scale=alt.Scale(domain=[0, 100])),
            y=alt.Y("video_id:N", sort=order, axis=None),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.35)),
            tooltip=[
                alt.Tooltip("video_id:N", title="video"),
                alt.Tooltip("views:Q", title="views"),
                alt.Tooltip("full_pct:Q", title="full views (%)", format=".1f"),
                alt.Tooltip("early_pct:Q", title="left in the first clip (%)", format=".1f"),
            ],
        )
        .properties(width=160, height=height, title="Full-view share")
    )
    return (
        alt.hconcat(heat, full, spacing=8)
        .resolve_scale(y="shared")
        .properties(title=alt.TitleParams(title, anchor="start"))
    )


def user_strip_figure(views: pd.DataFrame, nc: int, title: str) -> go.Figure:
    """One dot per view of a user: where in the video they left (share of its duration), in time
    order from the first view (bottom) to the last (top). Full views sit at 100 %."""
    fig = go.Figure()
    n = len(views)
    order = np.arange(1, n + 1)
    for is_full, color, name in ((False, RED, "left (skip)"), (True, GREEN, "full view")):
        m = views["full_view"].to_numpy(dtype=bool) == is_full
        if not m.any():
            continue
        sub = views.loc[m]
        clip_txt = sub["skip_clip"].astype("string").fillna("all +").to_numpy()
        fig.add_trace(
            go.Scatter(
                x=sub["leave_position"] * 100, y=order[m], mode="markers", name=name,
                marker={"color": color, "size": 9, "symbol": "circle" if not is_full else "star"},
                customdata=np.stack(
                    [np.array([_esc(v) for v in sub[S.VIDEO]], dtype=object), sub["watch_ratio"].to_numpy(), clip_txt,
                     sub[S.PLAY].to_numpy(), sub[S.DURATION].to_numpy()], axis=1,
                ),
                hovertemplate="view %{y}: video %{customdata[0]}, %{customdata[3]:.1f} of "
                "%{customdata[4]:.1f} s (r = %{customdata[1]:.2f}), skip clip %{customdata[2]}<extra></extra>",
            )
        )
    fig.update_layout(
        shapes=_vlines(np.arange(1, nc) / nc * 100), title={"text": _esc(title)}, height=max(260, min(18 * n + 120, 700)),
        xaxis={"title": "where the view ended (% of the video; dotted lines = clip boundaries)", "range": [-2, 104]},
        yaxis={"title": "view number (time order)", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2}, margin={"t": 60},
    )
    return fig


def matrix_figure(df: pd.DataFrame, title: str, colorscale: str = "Blues", fmt: str = ".2f",
                  zmin: float | None = None, zmax: float | None = None) -> go.Figure:
    """A small labelled matrix as an annotated heatmap (toy example, R̃ blocks)."""
    z = df.to_numpy(dtype="float64")
    fig = go.Figure(go.Heatmap(
        z=z, x=[_esc(c) for c in df.columns], y=[_esc(i) for i in df.index], colorscale=colorscale,
        zmin=zmin, zmax=zmax, texttemplate="%{z:" + fmt + "}", xgap=1, ygap=1,
        hovertemplate="row %{y}, column %{x}: %{z:" + fmt + "}<extra></extra>", showscale=False,
    ))
    fig.update_layout(
        title={"text": _esc(title)}, height=int(min(max(200, 40 * len(df) + 120), 700)),
        xaxis={"type": "category", "side": "top"}, yaxis={"type": "category", "autorange": "reversed"},
        margin={"t": 90, "b": 10},
    )
    return fig


def label_counts_figure(counts: pd.DataFrame, nc: int) -> go.Figure:
    """Grouped bars: positive / negative / unlabelled clip-label counts per policy."""
    fig = go.Figure()
    for col, color, name in (("positive", GREEN, "positive (+)"), ("negative", RED, "negative (−)"),
                             ("unlabelled", GREY, "unlabelled")):
        fig.add_trace(go.Bar(x=counts["policy"], y=counts[col], name=name, marker={"color": color},
                             hovertemplate="%{x}: %{y:,} " + name + " clip labels<extra></extra>"))
    fig.update_layout(
        barmode="group", title={"text": f"Clip labels in this dataset with N_c = {nc} (all views × clips)"},
        xaxis_title="label policy", yaxis_title="clip labels (count)", height=340, margin={"t": 60},
    )
    return fig
