"""REST routes, one module per domain; each route is one step of orchestration."""
