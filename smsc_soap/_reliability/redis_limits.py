"""Limits shared in Redis by every process that uses one SMSC login: slots, rate windows, breaker.

A fleet of N workers, each with its own client, would otherwise run 14 x N requests at once and
meet the service's IP block (error 4) N times. With ``limits_store="redis://host:6379/0"`` they share:

* **slots**: at most 14 requests in flight per login (R2), a sorted set of leases scored by their
  expiry, so a worker killed with SIGKILL frees its slots when its leases run out;
* **rate windows**: 5 status requests per message, 10 balance requests, 5 identical cost requests a
  minute (R1, R3, R4), sorted sets of timestamps trimmed on every admission;
* **the breaker**: after one worker sees error 4, every worker refuses locally until the cool-down
  ends, then one of them probes.

Each is one Lua script (atomic, one round trip) timed by the Redis server's clock, so workers on
machines with different clocks agree. Keys are ``<prefix>:<fingerprint>:...`` where the fingerprint
is a salted hash of the account name (the login, never the password or API key; the salt is random
and kept in Redis); window keys hash the message id and phone (or the cost request's fields) with
the same salt, so no key holds a secret or a phone number.

When Redis cannot be reached, the client falls back to in-process limits with a WARNING and tries
Redis again a few seconds later: a send is never blocked by, nor repeated because of, the store.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._exceptions import (
    CircuitOpenError,
    IpBlockedError,
    SmscApiError,
    SmscConfigurationError,
    SmscError,
    SmscFaultError,
)
from .limits import Breaker, LocalStore, Slots, Window

if TYPE_CHECKING:
    import redis

__all__ = ["RedisLimitsStore"]

_log = logging.getLogger("smsc_soap.limits")

Clock = Callable[[], float]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_WINDOW = (
    _NOW
    + """
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local wait = tonumber(oldest[2]) + period - now
  if wait < 0 then wait = 0 end
  return wait
end
redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], period)
return -1
"""
)

_SLOT = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(last[2]) - now))
return 1
"""
)

_ADMIT = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  return {0, ttl}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then
    return {1, 0}
  end
  return {0, 1000}
end
return {2, 0}
"""

_TRIP = """
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
redis.call('DEL', KEYS[3])
return 1
"""

#: Seconds a lease outlives the request's own deadline before it is taken back.
LEASE_MARGIN = 5.0
#: Seconds the half-open probe holds the breaker before another worker may probe.
PROBE_LEASE = 60.0
#: Seconds of in-process limits after Redis failed, before it is tried again.
RECHECK_AFTER = 5.0


class RedisLimitsStore:
    """Limits of one account (``account``, usually the login) shared in Redis, with in-process fallback.

    ``url`` is a redis-py URL (``redis://[:password@]host:6379/0``, ``rediss://``, ``unix://``);
    ``prefix`` namespaces the keys (processes that share a breaker should share an egress IP).
    ``client`` may be a ready ``redis.Redis`` instead of a URL. ``clock`` times the fallback; a slot
    is held at most the request's deadline plus ``lease_margin`` seconds, so a killed worker's slots
    come free by then.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        account: str,
        prefix: str = "smsc",
        client: redis.Redis | None = None,
        clock: Clock = time.monotonic,
        socket_timeout: float = 0.5,
        recheck_after: float = RECHECK_AFTER,
        lease_margin: float = LEASE_MARGIN,
    ) -> None:
        if not account:
            raise SmscConfigurationError(
                "the limits store needs an account name (the login)", field="limits_store"
            )
        try:
            import redis as redis_module
        except ImportError:
            raise SmscConfigurationError(
                "limits_store needs redis-py: pip install 'smsc-soap[redis]'",
                field="limits_store",
            ) from None
        self._errors: tuple[type[BaseException], ...] = (
            redis_module.ConnectionError,
            redis_module.TimeoutError,
            redis_module.exceptions.BusyLoadingError,
            OSError,
        )
        if client is None:
            if url is None:
                raise SmscConfigurationError(
                    "give the limits store a redis:// URL or a client", field="limits_store"
                )
            try:
                client = redis_module.Redis.from_url(
                    url,
                    socket_timeout=socket_timeout,
                    socket_connect_timeout=socket_timeout,
                    health_check_interval=30,
                )
            except ValueError as error:
                raise SmscConfigurationError(
                    f"limits_store is not a usable Redis URL: {_safe(str(error), url)}",
                    field="limits_store",
                ) from None
        self._redis = client
        self._where = _where(url) if url is not None else "a redis.Redis client"
        self.account = account
        self.prefix = prefix
        self.local = LocalStore(clock)
        self._clock = clock
        self._recheck_after = recheck_after
        self.lease_margin = lease_margin
        self._down_until: float | None = None
        self._lock = threading.Lock()
        self._salt: str | None = None
        self._window_script = client.register_script(_WINDOW)
        self._slot_script = client.register_script(_SLOT)
        self._admit_script = client.register_script(_ADMIT)
        self._trip_script = client.register_script(_TRIP)

    # ----- reaching Redis ------------------------------------------------------------------------

    def available(self) -> bool:
        """Whether Redis is being used (False during a fallback period)."""
        with self._lock:
            return self._down_until is None or self._clock() >= self._down_until

    def run(self, action: Callable[[], Any]) -> tuple[bool, Any]:
        """Run ``action`` against Redis: (True, result), or (False, None) when it cannot be reached."""
        if not self.available():
            return False, None
        try:
            result = action()
        except self._errors as error:
            self._fell_back(error)
            return False, None
        with self._lock:
            if self._down_until is not None:
                self._down_until = None
                _log.warning("limits store %s reachable again: shared limits resumed", self._where)
        return True, result

    def _fell_back(self, error: BaseException) -> None:
        with self._lock:
            first = self._down_until is None
            self._down_until = self._clock() + self._recheck_after
        if first:
            _log.warning(
                "limits store %s unreachable (%s); using in-process limits, retrying in %.0f s",
                self._where,
                type(error).__name__,
                self._recheck_after,
            )

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def fingerprint(self) -> str:
        """The salted fingerprint of the account name that scopes its keys."""
        return self._hash(self.account)

    def _hash(self, text: str | bytes) -> str:
        data = text.encode("utf-8") if isinstance(text, str) else text
        return hashlib.sha256(self.salt().encode() + b"\0" + data).hexdigest()[:24]

    def salt(self) -> str:
        """The store's random salt, created once in Redis and shared by every process."""
        if self._salt is None:
            key = self._key("salt")
            self._redis.set(key, secrets.token_hex(16), nx=True)
            value = self._redis.get(key)
            self._salt = value.decode() if isinstance(value, bytes) else str(value)
        return self._salt

    # ----- the protocol --------------------------------------------------------------------------

    def window(self, name: str, limit: int, period: float) -> Window:
        """A window shared by every process of this account."""
        return _RedisWindow(self, name, limit, period)

    def breaker(self, cooldown: float) -> Breaker:
        """The breaker shared by every process using this store (an IP block hits them all)."""
        return _RedisBreaker(self, cooldown)

    def slots(self, limit: int) -> Slots | None:
        """The account's in-flight slots, shared by every process."""
        return _RedisSlots(self, limit)

    def close(self) -> None:
        """Close the Redis connections."""
        self._redis.close()

    def __repr__(self) -> str:
        return f"RedisLimitsStore({self._where}, prefix={self.prefix!r})"


class _RedisWindow:
    def __init__(self, store: RedisLimitsStore, name: str, limit: int, period: float) -> None:
        self.store = store
        self.name = name
        self.limit = limit
        self.period = period
        self.local = store.local.window(name, limit, period)

    def acquire(self, key: str | bytes) -> float | None:
        store = self.store

        def shared() -> float | None:
            redis_key = store._key(store.fingerprint(), "w", self.name, store._hash(key))
            wait = store._window_script(
                keys=[redis_key],
                args=[self.limit, int(self.period * 1000), secrets.token_hex(6)],
            )
            return None if int(wait) < 0 else int(wait) / 1000.0

        ok, result = store.run(shared)
        if ok:
            return result  # type: ignore[no-any-return]
        return self.local.acquire(key)

    def reset_locks(self) -> None:
        self.local.reset_locks()


class _RedisSlots:
    def __init__(self, store: RedisLimitsStore, limit: int) -> None:
        self.store = store
        self.limit = limit

    def try_acquire(self, lease: float) -> object | None:
        store = self.store
        token = secrets.token_hex(8)

        def take() -> bool:
            key = store._key(store.fingerprint(), "slots")
            lease_ms = max(1, int((lease + store.lease_margin) * 1000))
            return bool(store._slot_script(keys=[key], args=[self.limit, lease_ms, token]))

        ok, taken = store.run(take)
        if not ok:
            return _UNSHARED  # Redis down: the client's own semaphore is the bound
        return token if taken else None

    def acquire(self, timeout: float, lease: float) -> object | None:
        deadline = time.monotonic() + max(0.0, timeout)
        pause = 0.005
        while True:
            token = self.try_acquire(lease)
            if token is not None:
                return token
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.05)

    def release(self, token: object) -> None:
        if token is _UNSHARED or not isinstance(token, str):
            return
        store = self.store
        store.run(lambda: store._redis.zrem(store._key(store.fingerprint(), "slots"), token))


_UNSHARED = object()


class _RedisBreaker:
    def __init__(self, store: RedisLimitsStore, cooldown: float) -> None:
        from .budget import CircuitBreaker

        self.store = store
        self.cooldown = cooldown
        self.local = CircuitBreaker(cooldown, store._clock)
        self._source = threading.local()
        self._keys = [store._key("breaker", name) for name in ("open", "tripped", "probe")]

    @property
    def is_open(self) -> bool:
        if self.local.is_open:
            return True
        store = self.store

        def check() -> bool:
            pipe = store._redis.pipeline()
            pipe.pttl(self._keys[0])
            pipe.exists(self._keys[1], self._keys[2])
            ttl, both = pipe.execute()
            return bool(int(ttl) > 0 or int(both) == 2)

        ok, result = store.run(check)
        return bool(result) if ok else False

    def admit(self, operation: str | None = None) -> bool:
        self._source.local = True
        if self.local.is_open:
            return self.local.admit(operation)  # this process saw an error 4 itself
        store = self.store
        ok, result = store.run(
            lambda: store._admit_script(keys=self._keys, args=[int(PROBE_LEASE * 1000)])
        )
        if not ok:
            return self.local.admit(operation)
        self._source.local = False
        state, wait_ms = int(result[0]), int(result[1])
        if state == 0:
            wait = wait_ms / 1000.0
            raise CircuitOpenError(
                f"SMSC blocked this IP (error 4, seen by a process sharing the limits store); "
                f"calls are refused locally for another {wait:.0f} s so that the block is not "
                "extended",
                operation=operation,
                retry_after=wait,
            )
        return state == 1

    def record(self, probe: bool, error: SmscError | None) -> None:
        from_local = getattr(self._source, "local", True)
        store = self.store
        if isinstance(error, IpBlockedError):
            self.local.record(probe and from_local, error)
            ms = int(self.cooldown * 1000)
            store.run(lambda: store._trip_script(keys=self._keys, args=[ms, ms + 86_400_000]))
            return
        if from_local:
            self.local.record(probe, error)
            return
        if probe:
            if error is None or isinstance(error, SmscApiError | SmscFaultError):
                store.run(lambda: store._redis.delete(self._keys[1], self._keys[2]))
            else:
                store.run(lambda: store._redis.delete(self._keys[2]))

    def release_probe(self) -> None:
        if getattr(self._source, "local", True):
            self.local.release_probe()
            return
        store = self.store
        store.run(lambda: store._redis.delete(self._keys[2]))

    def reset_locks(self) -> None:
        self.local.reset_locks()
        self._source = threading.local()


def _where(url: str) -> str:
    """The URL without a password, for messages."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<redis>"
    netloc, slash, path = rest.partition("/")
    host = netloc.rpartition("@")[2]
    return f"{scheme}://{host}{slash}{path.split('?')[0]}"


def _safe(text: str, url: str) -> str:
    """``text`` with any password of ``url`` masked."""
    netloc = url.partition("://")[2].partition("/")[0]
    userinfo = netloc.rpartition("@")[0]
    if userinfo:
        password = userinfo.partition(":")[2]
        if password:
            text = text.replace(password, "***")
    return text
