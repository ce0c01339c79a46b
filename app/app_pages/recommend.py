"""Recommend page (being built)."""

import streamlit as st

st.title("Recommend")
st.info("This page is being built.")
