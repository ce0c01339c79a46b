"""The list of finished runs that cannot be used (damaged or tampered folders), shown on the
Compare, Recommend and Train pages instead of an error (docs/design.md §8)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from frame_core.services import engine as E


def unusable_runs_notice(runs_dir: Path, dataset_id: str | None, key: str) -> None:
    """A warning with the count and an expander listing each unusable run and its reason."""
    bad = E.unusable_runs(Path(runs_dir), dataset_id)
    if bad.empty:
        return
    n = len(bad)
    st.warning(f"{n} finished run{'s' if n > 1 else ''} cannot be used and {'are' if n > 1 else 'is'} left out "
               "(damaged run folder); see the list below. Delete or re-train them.", icon=":material/report:")
    with st.expander(f"Unusable runs ({n})"):
        st.dataframe(bad[["run_id", "dataset", "problem"]], hide_index=True, width="stretch", key=key,
                     column_config={"problem": st.column_config.TextColumn("why", width="large")})
