"""The GraphiQL page: HTML that loads the pinned bundles shipped in gateway/static/graphiql/.

Nothing is loaded from the internet: React, ReactDOM and GraphiQL (which bundles graphql-js) are
served by the gateway itself under ASSETS_PATH, so the page works on an offline machine.
"""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "static" / "graphiql"
ASSETS_PATH = "/-/graphiql"

# The page is served at the GraphQL endpoint itself, so the fetcher posts to the page's own path.
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{assets}/graphiql.min.css">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="{assets}/react.production.min.js"></script>
<script src="{assets}/react-dom.production.min.js"></script>
<script src="{assets}/graphiql.min.js"></script>
<script>
  const endpoint = window.location.origin + window.location.pathname;
  const fetcher = GraphiQL.createFetcher({{ url: endpoint }});
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {{
    fetcher,
    defaultEditorToolsVisibility: true,
    defaultQuery: "# B2B commerce API. Ctrl+Enter runs the query.\\n\\n{{\\n  __typename\\n}}\\n",
  }}));
</script>
</body>
</html>
"""


def graphiql_html(title: str = "GraphiQL · B2B commerce gateway") -> bytes:
    return _PAGE.format(title=title, assets=ASSETS_PATH).encode()


def assets_present() -> bool:
    names = ("graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js")
    return all((ASSETS_DIR / name).is_file() for name in names)
