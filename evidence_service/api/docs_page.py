"""``/docs``: Swagger UI served from the installed ``swagger-ui-bundle-v2`` package.

FastAPI's own page loads Swagger UI from a CDN, which leaves it blank on an office network with
no internet. Here the page, its assets and its initializer are all ours to serve, with no
inline script (so the page's Content-Security-Policy can stay ``script-src 'self'``).
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs/assets"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""

INIT = """window.ui = SwaggerUIBundle({{
  url: {openapi_url},
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
}});
"""


def install_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Serve ``/docs`` (the page), ``/docs/init.js`` and ``/docs/assets/*`` from the install."""
    page = PAGE.format(title=app.title, assets=ASSETS)
    init = INIT.format(openapi_url=json.dumps(openapi_url))

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/docs/init.js", include_in_schema=False)
    def docs_init() -> Response:
        return Response(init, media_type="text/javascript")

    app.mount(ASSETS, StaticFiles(directory=Path(str(swagger_ui_path))), name="docs-assets")
