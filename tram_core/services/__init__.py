"""The pages' only view of tram_core: one service module per page (and common), records to draw and user actions."""
