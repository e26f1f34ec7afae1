"""The API docs pages (Swagger UI at /api/docs/, ReDoc at /api/redoc/) under the site's strict
Content-Security-Policy: their scripts and styles come as files (templates/api_docs/,
qualify_site/static/api_docs/), all from our own static files (drf-spectacular-sidecar).
"""

from csp.decorators import csp_update
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

# What the ReDoc bundle needs beyond the site's policy, and nothing more. Its
# bundled style loader adds two <style> elements as the script loads, before
# ReDoc is given the page's nonce: they are allowed by the hash of their exact
# text (an empty element, and the scrollbar CSS of the drf-spectacular-sidecar
# 2026.10.1 bundle; another version of it makes the browser test fail and
# prints the new hash). Its search index runs in a Web Worker made from a blob.
REDOC_POLICY_ADDITIONS = {
    "style-src": [
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
    ],
    "worker-src": ["'self'", "blob:"],
}

swagger_ui = SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs/swagger_ui.html")
redoc = csp_update(REDOC_POLICY_ADDITIONS)(
    SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html")
)
