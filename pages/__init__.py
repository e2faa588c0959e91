"""The dashboard pages (scripts run by st.navigation) and their shared widget code."""
