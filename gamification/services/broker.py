"""Publishing to the Celery broker from a request without letting an outage slow requests."""

import logging
import threading
import time


class PublishBreaker:
    """After a failed publish, leave the broker alone for ``pause`` seconds: a broker outage costs
    one bounded connect per process and pause, not one per request (a periodic sweep does the
    work the skipped publishes would have signalled). Logs ``warning`` (with the error) at most
    once a minute per process, on ``logger``."""

    WARNING_INTERVAL = 60.0

    def __init__(self, *, pause: float, warning: str, logger: logging.Logger) -> None:
        self.pause = pause
        self.warning = warning
        self.logger = logger
        self.lock = threading.Lock()
        self.paused_until = 0.0
        self.warned_at = -self.WARNING_INTERVAL

    def open(self) -> bool:
        return time.monotonic() >= self.paused_until

    def failed(self, error: BaseException) -> None:
        now = time.monotonic()
        with self.lock:
            self.paused_until = now + self.pause
            if now - self.warned_at < self.WARNING_INTERVAL:
                return
            self.warned_at = now
        self.logger.warning("%s (%s: %s)", self.warning, type(error).__name__, error)
