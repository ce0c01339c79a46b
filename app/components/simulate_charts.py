"""Plotly charts of the Simulate page: arms with 95 % intervals, the gap closed toward the
oracle, per-user A against B, and one user's served videos on Skip Explorer's per-user clip
timeline (:func:`app.components.charts.user_strip_figure`). No data loading here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.components.charts import BLUE, GREEN, GREY, _esc, user_strip_figure
from frame_core.common import schema as S

REFERENCE = ("random", "popularity", "oracle")


def _colour(arm: str) -> str:
    return GREEN if arm == "oracle" else GREY if arm in REFERENCE else BLUE


def _err(df: pd.DataFrame, col: str) -> dict:
    return {"type": "data", "symmetric": False, "array": (df[f"{col}_hi"] - df[col]).tolist(),
            "arrayminus": (df[col] - df[f"{col}_lo"]).tolist()}


def arms_figure(arms: pd.DataFrame, replay: bool = False) -> go.Figure:
    """Full-view rate per arm and (world) watch seconds per user, bars with 95 % bootstrap intervals."""
    names = [_esc(a) for a in arms["arm"]]
    colours = [_colour(a) for a in arms["arm"]]
    if replay:
        fig = go.Figure(go.Bar(x=names, y=arms["full_view_rate"].tolist(), marker_color=colours, error_y=_err(arms, "full_view_rate"),
                               text=[f"{m:,} matches" for m in arms["matched"]], textposition="outside",
                               hovertemplate="%{x}: %{y:.3f} over %{text}<extra></extra>", name="full-view rate"))
        fig.update_layout(title={"text": "Replay estimate: full-view rate of the matched views (95 % interval)"},
                          yaxis={"title": "full-view rate of matches", "rangemode": "tozero"}, height=420,
                          showlegend=False)
        return fig
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Full-view rate of served videos",
                                                        "Watch time per user (s, all rounds)"))
    fig.add_trace(go.Bar(x=names, y=arms["full_view_rate"].tolist(), marker_color=colours, error_y=_err(arms, "full_view_rate"),
                         name="full-view rate", hovertemplate="%{x}: %{y:.3f}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=arms["watch_seconds_per_user"].tolist(), marker_color=colours,
                         error_y=_err(arms, "watch_seconds_per_user"), name="watch seconds per user",
                         hovertemplate="%{x}: %{y:.1f} s<extra></extra>"), row=1, col=2)
    fig.update_yaxes(title_text="full-view rate", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="seconds watched per user", rangemode="tozero", row=1, col=2)
    fig.update_layout(title={"text": "Arms with 95 % bootstrap intervals over users"}, height=430, showlegend=False)
    return fig


def gap_figure(arms: pd.DataFrame) -> go.Figure:
    """Share of the random → oracle gap in full-view rate each arm closes (1 = as good as the oracle)."""
    df = arms[~arms["arm"].isin(["random", "oracle"])]
    fig = go.Figure(go.Bar(y=[_esc(a) for a in df["arm"]], x=df["gap_closed"].tolist(), orientation="h",
                           marker_color=[_colour(a) for a in df["arm"]],
                           error_x=_err(df, "gap_closed"), hovertemplate="%{y}: %{x:.2f}<extra></extra>"))
    fig.add_vline(x=0, line={"color": GREY, "dash": "dot"})
    fig.add_vline(x=1, line={"color": GREEN, "dash": "dot"})
    fig.update_layout(title={"text": "Gap closed toward the oracle: (arm − random) / (oracle − random)"},
                      xaxis={"title": "share of the random → oracle gap in full-view rate (0 = random, 1 = oracle)",
                             "range": [min(-0.05, float(df["gap_closed_lo"].min()) - 0.05), 1.05]},
                      height=max(240, 70 * len(df) + 120), showlegend=False)
    return fig


def scatter_figure(users: pd.DataFrame, arm_a: str, arm_b: str) -> go.Figure:
    """Per-user full-view rate under arm A (x) against arm B (y); a bubble's size is the number of
    users at that point (rates are multiples of 1 / served, so many users coincide)."""
    a = users[users["arm"] == arm_a].set_index(S.USER)["full_view_rate"]
    b = users[users["arm"] == arm_b].set_index(S.USER)["full_view_rate"]
    both = pd.DataFrame({"a": a, "b": b}).dropna()
    pts = both.groupby(["a", "b"]).size().rename("n").reset_index()
    above, below = int((both["b"] > both["a"]).sum()), int((both["b"] < both["a"]).sum())
    fig = go.Figure(go.Scatter(
        x=pts["a"].tolist(), y=pts["b"].tolist(), mode="markers", marker={"size": 6 + 22 * np.sqrt(pts["n"] / max(1, pts["n"].max())),
                                                         "color": BLUE, "opacity": 0.6},
        customdata=pts["n"].tolist(), hovertemplate="A %{x:.2f}, B %{y:.2f}: %{customdata} users<extra></extra>"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"color": GREY, "dash": "dot"}, hoverinfo="skip"))
    fig.update_layout(title={"text": _esc(f"Per user: {arm_a} (x) against {arm_b} (y); "
                                          f"{above} users better under B, {below} under A")},
                      xaxis={"title": _esc(f"full-view rate under {arm_a}"), "range": [-0.05, 1.05]},
                      yaxis={"title": _esc(f"full-view rate under {arm_b}"), "range": [-0.05, 1.05]},
                      height=460, showlegend=False)
    return fig


def served_strip(views: pd.DataFrame, arm: str, user: str, nc: int) -> go.Figure:
    """The videos ``arm`` served ``user`` (round, then rank) and where the user left, on Skip
    Explorer's per-user clip timeline (``nc`` clips)."""
    v = views[(views["arm"] == arm) & (views[S.USER] == user)].sort_values(["round", "rank"])
    full = v["full_view"].astype(bool)
    strip = pd.DataFrame({
        S.VIDEO: v[S.VIDEO].astype(str).to_numpy(), "full_view": full.to_numpy(),
        "leave_position": np.where(full, 1.0, np.clip(v["watch_ratio"].to_numpy(), 0, 1)),
        "skip_clip": pd.array(np.where(full, pd.NA, v["leave_clip"].to_numpy()), dtype="Int64"),
        "watch_ratio": v["watch_ratio"].to_numpy(), S.PLAY: v["playing_time"].to_numpy(),
        S.DURATION: v["duration_time"].to_numpy()})
    fig = user_strip_figure(strip, nc, f"{arm} → {user}")
    fig.update_layout(yaxis={"title": "served video (round, rank)"}, title={"font": {"size": 13}},
                      xaxis={"title": "where they left (% of video)"})
    return fig
