"""A worker process for the shared-limits tests: ``python -m tests.limits.worker MODE ENDPOINT REDIS ...``.

Modes: ``balance`` asks the balance once and prints the outcome's class name; ``burst GOFILE N
TAG`` prints ``ready``, waits for GOFILE, then sends N SMS at once from N threads and prints each
outcome; ``hold N`` starts N requests at once (the emulator is slow) and waits to be killed.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from smsc_soap import RedisLimitsStore, SmscError, SoapSmsc
from smsc_soap.emulator import TEST_LOGIN, TEST_PASSWORD


def _outcome(call: object) -> str:
    try:
        call()  # type: ignore[operator]
    except SmscError as error:
        return type(error).__name__
    return "ok"


def main(argv: list[str]) -> int:
    mode, endpoint, redis_url, *rest = argv
    if mode == "balance":
        with SoapSmsc(TEST_LOGIN, TEST_PASSWORD, endpoint=endpoint, limits_store=redis_url) as c:
            print(_outcome(c.get_balance), flush=True)
        return 0
    if mode == "burst":
        go, count, tag = Path(rest[0]), int(rest[1]), rest[2]
        with SoapSmsc(
            TEST_LOGIN, TEST_PASSWORD, endpoint=endpoint, limits_store=redis_url, timeout=60
        ) as client:
            client.get_sms_cost("79990000001", f"warm-up {tag}")  # load the WSDL first
            print("ready", flush=True)
            while not go.exists():
                time.sleep(0.01)
            results: list[str] = []

            def send(index: int) -> None:
                phone = f"7999{int(tag):03d}{index:04d}"
                results.append(_outcome(lambda: client.send_sms(phone, f"burst {tag}-{index}")))

            threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            print(" ".join(results), flush=True)
        return 0
    if mode == "hold":
        count = int(rest[0])
        store = RedisLimitsStore(redis_url, account=TEST_LOGIN, lease_margin=0.5)
        client = SoapSmsc(
            TEST_LOGIN,
            TEST_PASSWORD,
            endpoint=endpoint,
            limits_store=store,
            timeout=4,
            max_connections=14,
        )
        for index in range(count):
            phone = f"7999888{index:04d}"
            threading.Thread(target=client.send_sms, args=(phone, "hold"), daemon=True).start()
        print("sending", flush=True)
        time.sleep(60)  # killed long before
        return 0
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
