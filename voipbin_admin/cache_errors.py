"""What the cache backends raise when their server is down: Redis's errors, and the OSError
subclasses of memcached and file caches. Each use of the cache decides what it does then
(the login throttle refuses sign-ins; the search's size check counts instead)."""

from redis.exceptions import RedisError

CACHE_UNREACHABLE = (RedisError, OSError)
