"""The broker check of ``/readyz`` against a real Redis that stops."""

import pytest
from health_check.exceptions import ServiceUnavailable

from gamification.views.health import Broker

pytestmark = pytest.mark.servers


def test_redis_broker_is_up_then_down(redis_server, redis_restored):
    broker = Broker(url=redis_server.url(1))
    broker.run()
    redis_server.stop()
    with pytest.raises(ServiceUnavailable):
        broker.run()
    assert "127.0.0.1" not in repr(broker)  # the URL (and any password in it) stays out of reports
