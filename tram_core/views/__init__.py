"""What the pages show, without streamlit: annotation rules, report summaries (and exports with a model's findings),
run history and comparison, charts, the train form and app state, as plain records the services hand to the pages."""
