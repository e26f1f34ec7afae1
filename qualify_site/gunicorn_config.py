"""gunicorn settings for the Procfile's web process (`gunicorn -c qualify_site/gunicorn_config.py`).

The access log leaves out what can carry a credential: the HTTP Basic user
name (%(u)s, which is the write key of every /v1/ request), the query string
(%(q)s, and the request line %(r)s that contains it: some clients send
?writeKey=), the Referer and all request headers. Each line carries the
request id instead, so it can be matched with the application's JSON lines.
"""

import gc
import os

bind = os.getenv("BIND", "127.0.0.1:8000")
workers = int(os.getenv("WEB_CONCURRENCY", "3"))
worker_class = "gthread"
threads = int(os.getenv("WEB_THREADS", "4"))
graceful_timeout = 20

accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'


def post_worker_init(worker):
    """Move what the worker loaded (Django, the apps, URL conf) out of the garbage collector's
    sight: full collections then scan only what requests create, so pages with many rows do
    not pay for rescanning the code's objects at random (the tail of the latency)."""
    gc.freeze()
