"""Web UI routes, one module per domain (each an APIRouter mounted under /ui)."""
