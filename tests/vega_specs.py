"""Reading the Altair (Vega-Lite) charts a page drew in ``streamlit.testing.v1.AppTest``: the
spec, and the data of each named dataset (Streamlit sends them apart as Arrow streams)."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa


def title_text(spec: dict) -> str:
    """The chart's title as one line (a list of lines is joined with spaces)."""
    t = spec.get("title", "")
    t = t.get("text", "") if isinstance(t, dict) else t
    return " ".join(t) if isinstance(t, list) else str(t)


def vega_charts(at) -> dict[str, tuple[dict, dict[str, pd.DataFrame]]]:
    """Every Vega-Lite chart on the page by title: (spec, {dataset name: rows})."""
    out = {}
    for c in at.get("vega_lite_chart"):
        spec = json.loads(c.proto.spec)
        data = {d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in c.proto.datasets}
        out[title_text(spec)] = (spec, data)
    return out


def chart(at, title_has: str) -> tuple[dict, dict[str, pd.DataFrame]]:
    """The one chart whose title contains ``title_has``."""
    found = [v for k, v in vega_charts(at).items() if title_has in k]
    assert len(found) == 1, f"{len(found)} charts titled with {title_has!r}: {list(vega_charts(at))}"
    return found[0]


def layer_data(spec: dict, data: dict[str, pd.DataFrame], mark: str) -> pd.DataFrame:
    """The rows of the (first) layer drawn with ``mark`` (its own data, or the chart's)."""
    for layer in spec.get("layer", [spec]):
        m = layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
        if m == mark:
            name = layer.get("data", spec.get("data", {})).get("name")
            return data[name]
    raise AssertionError(f"no {mark} layer")
