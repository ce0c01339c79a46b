"""Charts of the Recommend page: a video's predicted per-clip curve against what the user did,
the top-K heatmap, and the score attribution waterfall (average candidate → this video)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from frame_core.common import schema as S
from frame_core.common.display import visible
from frame_core.model.attribution import PART_TITLES, PARTS


def esc(text) -> str:
    """Ids from an uploaded log, made plain text for Plotly (which renders a little HTML)."""
    return visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip_figure(p_clip: np.ndarray, duration: float, mode: str, actual, title: str) -> go.Figure:
    nc = len(p_clip)
    starts = np.arange(nc) * duration / nc
    labels = [f"clip {c}<br>{s:.1f}–{s + duration / nc:.1f} s" for c, s in enumerate(starts)]
    weakest = int(np.argmin(p_clip))
    colors = ["#ef553b" if c == weakest else "#636efa" for c in range(nc)]
    fig = go.Figure(go.Bar(x=list(range(nc)), y=p_clip, marker_color=colors, name="P(not skip clip | reached)",
                           hovertext=labels, hovertemplate="%{hovertext}<br>P(not skip) %{y:.3f}<extra></extra>"))
    surv = np.cumprod(p_clip)
    fig.add_trace(go.Scatter(x=list(range(nc)), y=surv, mode="lines+markers", name="P(still watching after clip)",
                             line={"color": "#00a67e"}))
    if actual is not None:
        if actual["full_view"]:
            fig.add_annotation(x=nc - 1, y=1.05, text="user watched to the end", showarrow=False,
                               font={"color": "#00a67e"})
        else:
            k = int(actual["skip_clip"])
            fig.add_vline(x=k, line_dash="dash", line_color="black")
            fig.add_annotation(x=k, y=1.05, text=f"user left here ({actual[S.PLAY]:.1f} s)", showarrow=False)
    fig.update_layout(title=title, xaxis_title=f"clip (each {duration / nc:.1f} s of a {duration:.1f} s video)",
                      yaxis_title="probability", height=380, legend={"orientation": "h", "y": -0.3},
                      margin={"t": 60})
    fig.update_xaxes(tickvals=list(range(nc)))
    fig.update_yaxes(range=[0, 1.12])
    return fig


def heatmap_figure(top: pd.DataFrame, clip_cols: list[str]) -> go.Figure:
    z = top[clip_cols].to_numpy()
    y = [f"#{i + 1} {esc(v)}" for i, v in enumerate(top[S.VIDEO])]
    lo = float(np.floor(np.nanmin(z) * 10) / 10) if z.size else 0.0  # keep contrast among high values
    fig = go.Figure(go.Heatmap(z=z, x=list(range(len(clip_cols))), y=y, colorscale="RdYlGn", zmin=min(lo, 0.9), zmax=1,
                               colorbar={"title": "P(not skip)"},
                               hovertemplate="%{y}<br>clip %{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title="Predicted not-skip probability per clip, top-K videos (colour scale starts at "
                            f"{min(lo, 0.9):.1f})", xaxis_title="clip",
                      yaxis_title="recommended video (rank)", height=max(260, 26 * len(top) + 120))
    fig.update_yaxes(autorange="reversed", type="category")  # labels like "#1 123" are not numbers
    fig.update_xaxes(tickvals=list(range(len(clip_cols))))
    return fig


def attribution_figure(out: dict, video: str) -> go.Figure:
    """Waterfall from the user's average candidate score to this video's score, one step per
    part of :mod:`frame_core.model.attribution` (they add up exactly)."""
    names = ["average candidate"] + [PART_TITLES[p] for p in PARTS] + [f"video {esc(video)}"]
    vals = [out["baseline"]] + [out["parts"][p] for p in PARTS] + [out["score"]]
    fig = go.Figure(go.Waterfall(
        x=names, y=vals, measure=["absolute"] + ["relative"] * len(PARTS) + ["total"],
        text=[f"{out['baseline']:.3f}"] + [f"{out['parts'][p]:+.3f}" for p in PARTS] + [f"{out['score']:.3f}"],
        textposition="outside", connector={"line": {"color": "#999"}},
        increasing={"marker": {"color": "#00a67e"}}, decreasing={"marker": {"color": "#ef553b"}},
        totals={"marker": {"color": "#636efa"}},
        hovertemplate="%{x}: %{text}<extra></extra>"))
    lo = min(np.cumsum(vals[:-1]).min(), out["score"], out["baseline"])
    hi = max(np.cumsum(vals[:-1]).max(), out["score"], out["baseline"])
    pad = max(0.02, 0.25 * (hi - lo))
    fig.update_layout(title="Why this video outranks the user's average candidate (P(full view))",
                      yaxis_title="predicted P(full view)", height=380, showlegend=False)
    fig.update_yaxes(range=[max(0.0, lo - pad), min(1.05, hi + pad)])
    return fig


def attribution_sentence(out: dict) -> str:
    """The attribution in words (Markdown)."""
    parts = sorted(PARTS, key=lambda p: -abs(out["parts"][p]))
    main = parts[0]
    d = out["difference"]
    side = "above" if d >= 0 else "below"
    rest = ", ".join(f"{PART_TITLES[p]} {out['parts'][p]:+.3f}" for p in parts[1:])
    return (f"Its score **{out['score']:.3f}** is **{abs(d):.3f} {side}** the user's average candidate "
            f"({out['baseline']:.3f}, mean over {out['n_candidates']:,} candidate videos). The largest share comes "
            f"from **{PART_TITLES[main]}** ({out['parts'][main]:+.3f}); {rest}.")


def duration_note(top: pd.DataFrame, all_durations) -> str:
    """A caption when the top-K is much shorter or longer than the videos overall ("" otherwise)."""
    med_all = float(np.median(all_durations)) if len(all_durations) else float("nan")
    med_top = float(top[S.DURATION].median()) if len(top) else float("nan")
    if not (np.isfinite(med_all) and np.isfinite(med_top)) or med_all <= 0:
        return ""
    ratio = med_top / med_all
    if 0.67 <= ratio <= 1.5:
        return ""
    kind = "short" if ratio < 1 else "long"
    return (f"These top {len(top)} have a median length of {med_top:.1f} s against {med_all:.1f} s over all videos: "
            f"this run favours {kind} videos (see the attribution below for how much duration adds).")
