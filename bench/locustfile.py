"""Locust user for ``bench/http_load.py`` (run through it; it prepares the data and the server).

Each simulated user acts as one learner at a time (a random learner of the bench database, by
DRF token) and switches to another random learner now and then. It mixes what the frontend
does: reads (``/api/me/``, badges, friends, streaks, the friends and classroom leaderboards, user
search, the friend-request count) and ``POST /api/events/`` with 1-10 realistic events, each with
an idempotency key (a few batches are re-sent, as a client retrying after a timeout would).

Configuration comes from the environment, set by ``bench/http_load.py``:

- ``BENCH_HTTP_PLAN``: JSON file with the learners (token, username, language, classroom id or
  null) and search terms;
- ``BENCH_HTTP_SAMPLES``: where to write every response time by group (reads, events) at the
  end, for exact group percentiles;
- ``BENCH_HTTP_WAIT``: ``MIN,MAX`` seconds of think time between two requests of one user.

Only the ``--host`` locust is given (loopback) is ever contacted.
"""

import csv
import datetime as dt
import json
import os
import random
import uuid
from pathlib import Path
from urllib.parse import quote

from locust import FastHttpUser, between, events, task
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

PLAN = json.loads(Path(os.environ["BENCH_HTTP_PLAN"]).read_text())
LEARNERS: list[dict] = PLAN["learners"]
CLASSROOM_MEMBERS: list[dict] = [learner for learner in LEARNERS if learner["classroom"] is not None]
SEARCH_TERMS: list[str] = PLAN["search_terms"]
WAIT_MIN, WAIT_MAX = (float(part) for part in os.environ.get("BENCH_HTTP_WAIT", "0.1,0.5").split(","))
SWITCH_LEARNER_EVERY = 20  # requests, on average, before a simulated user becomes another learner
RETRY_SHARE = 0.03  # batches sent twice (the second time all duplicates)

# Event mix of a learner's session: (type, share).
EVENT_MIX = (
    ("practice", 0.30),
    ("exercise_answered", 0.36),
    ("word_translated", 0.20),
    ("word_learned", 0.05),
    ("article_read", 0.06),
    ("audio_lesson_completed", 0.03),
)
EVENT_TYPES = [name for name, _ in EVENT_MIX]
EVENT_WEIGHTS = [share for _, share in EVENT_MIX]
PRACTICE_KINDS = ("reading", "exercises", "listening", "watching", "browsing")
VOCABULARY = 3000
ARTICLES = 20000
LESSONS = 400
BOARD_METRICS_FRIENDS = "reading_time"
BOARD_METRICS_CLASSROOM = "translated_words"

# Every response time (ms) by group, for the percentiles of all reads and all events together.
SAMPLES: dict[str, list[float]] = {"reads": [], "events": []}
STATUSES: dict[str, int] = {}


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None, exception=None, **kwargs):
    SAMPLES["events" if request_type == "POST" else "reads"].append(response_time)
    status = getattr(response, "status_code", None) if response is not None else None
    key = f"{request_type} {name} {status if status else type(exception).__name__ if exception else '?'}"
    STATUSES[key] = STATUSES.get(key, 0) + 1


@events.quitting.add_listener
def _write_final(environment, **kwargs):
    """Every sample, and locust's CSV tables once more now that the run is over: the CSV files
    of ``--csv`` are rewritten every second while the test runs, so they miss its last second."""
    target = os.environ.get("BENCH_HTTP_SAMPLES")
    if target:
        Path(target).write_text(json.dumps({"samples": SAMPLES, "statuses": STATUSES}))
    prefix = os.environ.get("BENCH_HTTP_FINAL_CSV")
    if prefix:
        final = StatsCSV(environment, PERCENTILES_TO_REPORT)
        with open(f"{prefix}_stats.csv", "w", newline="") as stats_file:
            final.requests_csv(csv.writer(stats_file))
        with open(f"{prefix}_failures.csv", "w", newline="") as failures_file:
            final.failures_csv(csv.writer(failures_file))


def _event(learner: dict, now: dt.datetime) -> dict:
    event_type = random.choices(EVENT_TYPES, weights=EVENT_WEIGHTS)[0]
    event = {
        "type": event_type,
        "occurred_at": (now - dt.timedelta(seconds=random.uniform(0, 120))).isoformat(),
        "language": learner["language"],
        "idempotency_key": uuid.uuid4().hex,
    }
    if event_type == "practice":
        event["kind"] = random.choice(PRACTICE_KINDS)
        event["duration_seconds"] = random.randint(20, 900)
    elif event_type == "exercise_answered":
        event["correct"] = random.random() < 0.7
    elif event_type in ("word_translated", "word_learned"):
        # Common words come up again and again: most translations are of words seen before.
        event["word"] = f"word{int(random.triangular(0, VOCABULARY, 0))}"
    elif event_type == "article_read":
        event["article_id"] = str(random.randrange(ARTICLES))
    else:
        event["lesson_id"] = random.randrange(LESSONS)
    return event


class Learner(FastHttpUser):
    wait_time = between(WAIT_MIN, WAIT_MAX)
    # Loopback only, one connection per simulated user; gunicorn's sync workers close it after
    # each response anyway.
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self._become(random.choice(LEARNERS))
        self._last_batch: list[dict] | None = None

    def _become(self, learner: dict) -> None:
        self.learner = learner
        self.headers = {"Authorization": f"Token {learner['token']}", "Accept": "application/json"}

    def _maybe_switch(self) -> None:
        if random.random() < 1 / SWITCH_LEARNER_EVERY:
            self._become(random.choice(LEARNERS))
            self._last_batch = None

    def _get(self, path: str, name: str, *, headers: dict | None = None) -> None:
        with self.client.get(path, headers=headers or self.headers, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
        self._maybe_switch()

    @task(10)
    def me(self) -> None:
        self._get("/api/me/", "/api/me/")

    @task(10)
    def friend_request_count(self) -> None:
        self._get("/api/friend-requests/count/", "/api/friend-requests/count/")

    @task(6)
    def badges(self) -> None:
        self._get("/api/badges/", "/api/badges/")

    @task(5)
    def friends(self) -> None:
        self._get("/api/friends/", "/api/friends/")

    @task(6)
    def streaks(self) -> None:
        self._get("/api/streaks/", "/api/streaks/")

    @task(6)
    def friends_board(self) -> None:
        self._get(
            f"/api/leaderboards/friends/?metric={BOARD_METRICS_FRIENDS}",
            f"/api/leaderboards/friends/?metric={BOARD_METRICS_FRIENDS}",
        )

    @task(3)
    def classroom_board(self) -> None:
        # Only classroom members look at a classroom board: a learner without a classroom hands
        # this request to a random member.
        learner = self.learner if self.learner["classroom"] is not None else random.choice(CLASSROOM_MEMBERS)
        self._get(
            f"/api/leaderboards/classrooms/{learner['classroom']}/?metric={BOARD_METRICS_CLASSROOM}",
            f"/api/leaderboards/classrooms/<id>/?metric={BOARD_METRICS_CLASSROOM}",
            headers={"Authorization": f"Token {learner['token']}", "Accept": "application/json"},
        )

    @task(3)
    def search(self) -> None:
        self._get(f"/api/users/?search={quote(random.choice(SEARCH_TERMS))}", "/api/users/?search=<prefix>")

    @task(15)
    def post_events(self) -> None:
        if self._last_batch is not None and random.random() < RETRY_SHARE:
            batch, expect_accepted = self._last_batch, 0  # a retry: every event is a duplicate
        else:
            now = dt.datetime.now(dt.UTC)
            batch = [_event(self.learner, now) for _ in range(random.randint(1, 10))]
            expect_accepted = len(batch)
        body = {"events": batch}
        with self.client.post(
            "/api/events/", json=body, headers=self.headers, name="/api/events/", catch_response=True
        ) as response:
            if response.status_code != 201:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
                self._last_batch = None
            else:
                result = response.json()
                if (
                    result.get("accepted") != expect_accepted
                    or result.get("duplicates") != len(batch) - expect_accepted
                ):
                    response.failure(f"unexpected counts {result} for {len(batch)} events")
                self._last_batch = batch
        self._maybe_switch()
