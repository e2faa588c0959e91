"""Activity (maintainers and admins): who changed what and when, filtered by person, kind and date; CSV export."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from pages.ui import ActivityState, current_user, get_context, literal, show_error
from tram_core.services import activity as svc

ctx = get_context()
user = current_user()
W = ActivityState.widgets

st.title("Activity")
st.caption("Every change: labels, undos and reviews, imports, deleted reports, runs, promotions, accounts and "
           "sign-ins. Times are UTC.")
cols = st.columns([2, 3, 2, 2])
person = cols[0].text_input("Person", key=W.person, max_chars=100, placeholder="anyone")
kinds = cols[1].multiselect("Kinds", svc.KINDS, key=W.kinds, placeholder="all")
today = svc.today()
since = cols[2].date_input("From", value=today - timedelta(days=30), key=W.since)
until = cols[3].date_input("To", value=today, key=W.until)
try:
    rows = svc.list_activity(ctx, user, person.strip(), kinds, since, until)
except Exception as exc:  # noqa: BLE001 - a refused view is one line
    show_error(exc, "Activity")
    st.stop()
if not rows:
    st.info("No activity matches.")
    st.stop()
st.dataframe(svc.activity_frame(rows), hide_index=True, width="stretch")
st.download_button("Download as CSV", svc.activity_csv(rows), file_name="tram-activity.csv", mime="text/csv",
                   key=W.download)
st.caption(literal(f"{len(rows)} change(s)."))
