"""The database URL a CLI command under test opens, for an engine a fixture made."""

from __future__ import annotations

from sqlalchemy import Engine, make_url, text


def cli_url(engine: Engine) -> str:
    """The URL the command line opens for this test's database (on PostgreSQL, with its schema:
    each test's tables live in a schema of its own, which a fresh connection must be pointed at)."""
    if engine.url.get_backend_name() != "postgresql":
        return engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    return make_url(engine.url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
