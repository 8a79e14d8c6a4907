"""Superset's configuration for the warehouse's BI (make bi, docs/bi.md): everything from the
environment that warehouse/bi_tool.py sets; nothing secret in this file."""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.path.join(os.environ["SUPERSET_HOME"], "superset.db")
SQLALCHEMY_EXAMPLES_URI = None
WTF_CSRF_ENABLED = True
# served on 127.0.0.1 over http by default: no HTTPS redirect; behind a TLS proxy set it on
TALISMAN_ENABLED = os.environ.get("SUPERSET_TALISMAN", "false") == "true"
SESSION_COOKIE_SAMESITE = "Lax"
# charts filter on the latest month with a sub-query; what a query may read is the warehouse's to say
# (bi_reader reads the schema bi alone), so allowing sub-queries opens nothing
# the dashboard has six charts: no virtualization, so every chart is drawn on open (with it, rows more
# than a window's height below the fold are not mounted, and a screenshot or a print shows spinners)
FEATURE_FLAGS = {"DASHBOARD_RBAC": True, "ALLOW_ADHOC_SUBQUERY": True, "DASHBOARD_VIRTUALIZATION": False}
# the warehouse's own row scope applies (Superset connects as bi_reader); no anonymous access
PUBLIC_ROLE_LIKE = None
ROW_LIMIT = 5000
