"""gunicorn settings for production, all from the environment (see README, "Production")."""

import multiprocessing
import os

from gunicorn.glogging import Logger

from voipbin_admin.log_redaction import redact_handlers


class RedactingLogger(Logger):
    """gunicorn's logger, whose access and error logs redact credentials (`?token=`,
    `?accesskey=`, Bearer values) like every other log line of the server."""

    def setup(self, cfg):
        super().setup(cfg)
        redact_handlers(self.error_log, self.access_log)


logger_class = RedactingLogger
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 (a container's server listens on all interfaces)
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# "-" logs requests to stdout; an empty value turns the access log off.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The longest list request the contract allows is 7,239 bytes (100 tag ids, every other
# filter at its limit, both query credentials; README, "Production"); gunicorn's default of
# 4,094 refused it with an HTML 414. 8,190 is gunicorn's largest finite limit.
limit_request_line = 8190
