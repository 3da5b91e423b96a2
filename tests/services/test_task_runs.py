"""award_badges and rebuild_metrics started in the admin run as background tasks (run_worker's
thread, or Celery on a real broker), with progress on their TaskRun row; a task is claimed once,
and one whose worker died is started again."""

import datetime as dt
import threading
import time

import pytest
from django.test import Client
from django.utils import timezone

from gamification.models import ActivityType, TaskRun, UserBadge, UserMetric
from gamification.services import task_runs
from gamification.services.task_runs import TaskRunInvalid, task_run_execute, task_run_start, task_runs_run_due
from gamification.worker import PERIODIC_JOBS, Worker
from tests.api.test_events_api import post, word
from tests.conftest import client_for, is_mariadb
from tests.factories import UserFactory
from tests.test_tasks import broker as broker  # the fixture, shared
from tests.test_tasks import wait_for
from zeeguu_site.celery import app

LIST = "/admin/gamification/taskrun/"


def qualified_learners(n: int) -> list:
    words = ActivityType.objects.get(code="TRANSLATED_WORDS")
    learners = [UserFactory() for _ in range(n)]
    for learner in learners:
        UserMetric.objects.create(user=learner, activity_type=words, value=10)
    return learners


@pytest.fixture
def staff_client(db):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
class TestStartingFromTheAdmin:
    @pytest.mark.parametrize("kind", ["award_badges", "rebuild_metrics"])
    def test_the_button_queues_a_task_and_shows_its_page(self, staff_client, kind):
        response = staff_client.post(f"{LIST}start/{kind}/")

        run = TaskRun.objects.get()
        assert (run.kind, run.status, run.done, run.total) == (kind, "queued", 0, None)
        assert response.status_code == 302 and response["Location"] == f"{LIST}{run.pk}/change/"
        page = staff_client.get(response["Location"])
        assert page.status_code == 200
        assert 'http-equiv="refresh"' in page.content.decode()  # follows the run while it is not finished

    def test_the_list_offers_both_tasks_and_shows_progress(self, staff_client):
        TaskRun.objects.create(kind="rebuild_metrics", status="running", done=30, total=120)
        html = staff_client.get(LIST).content.decode()
        assert "Start: Award qualified badges" in html and "Start: Rebuild metrics" in html
        assert "30 / 120 (25 %)" in html

    def test_start_is_post_only_and_needs_the_permission(self, staff_client, db):
        assert staff_client.get(f"{LIST}start/rebuild_metrics/").status_code == 405
        assert staff_client.post(f"{LIST}start/nothing/").status_code == 403
        viewer = UserFactory(is_staff=True)
        from django.contrib.auth.models import Permission

        viewer.user_permissions.add(Permission.objects.get(codename="view_taskrun"))
        client = Client()
        client.force_login(viewer)
        assert client.post(f"{LIST}start/rebuild_metrics/").status_code == 403
        assert "Start:" not in client.get(LIST).content.decode()
        assert not TaskRun.objects.exists()

    def test_unknown_codes_are_refused(self, db):
        with pytest.raises(TaskRunInvalid):
            task_run_start(kind="award_badges", started_by=None, codes=["NOPE"])


@pytest.mark.django_db
class TestRunning:
    def test_award_badges_records_progress_and_result(self, monkeypatch):
        monkeypatch.setattr(task_runs, "PROGRESS_INTERVAL", 0.0)
        learners = qualified_learners(3)
        run = task_run_start(kind="award_badges", started_by=None, codes=["translated_words"])

        assert task_runs_run_due(background=False) == 1

        run.refresh_from_db()
        assert (run.status, run.done, run.total, run.attempts) == ("done", 3, 3, 1)
        assert run.result == "Awarded 3 badges (TRANSLATED_WORDS)."
        assert run.started_at and run.finished_at and run.heartbeat_at
        assert UserBadge.objects.filter(user__in=learners).count() == 3
        assert task_runs_run_due(background=False) == 0  # done: never again

    def test_rebuild_metrics_repairs_metrics_with_progress_over_every_user(self, user):
        post(client_for(user), {"events": [word("a"), word("b")]})
        UserMetric.objects.filter(user=user).update(value=99)
        run = task_run_start(kind="rebuild_metrics", started_by=None)

        task_runs_run_due(background=False)

        run.refresh_from_db()
        assert run.status == "done" and run.done == run.total == 1
        assert UserMetric.objects.get(user=user, activity_type__code="TRANSLATED_WORDS").value == 2

    def test_a_failing_job_is_recorded_failed_with_its_error(self, monkeypatch):
        def broken(run, progress):
            raise RuntimeError("the disk is full")

        monkeypatch.setitem(task_runs.JOBS, "rebuild_metrics", broken)
        run = task_run_start(kind="rebuild_metrics", started_by=None)
        task_runs_run_due(background=False)
        run.refresh_from_db()
        assert (run.status, run.error) == ("failed", "RuntimeError: the disk is full")

    def test_a_live_run_is_not_claimed_twice_and_a_stale_one_is_started_again(self, settings):
        run = TaskRun.objects.create(kind="award_badges", status="running", heartbeat_at=timezone.now(), attempts=1)
        assert task_run_execute(task_run_id=run.pk) is False  # a redelivered task while it runs elsewhere

        TaskRun.objects.filter(pk=run.pk).update(
            heartbeat_at=timezone.now() - dt.timedelta(seconds=settings.TASK_RUN_STALE_SECONDS + 1)
        )
        assert task_run_execute(task_run_id=run.pk) is True
        run.refresh_from_db()
        assert (run.status, run.attempts) == ("done", 2)


@pytest.mark.django_db(transaction=True)
def test_run_worker_runs_a_task_in_a_thread_while_its_other_jobs_go_on():
    qualified_learners(2)
    run = task_run_start(kind="award_badges", started_by=None)
    worker = Worker(tuple(job for job in PERIODIC_JOBS if job.name == "tasks.run_queued"))

    worker.run_once()

    assert wait_for(lambda: TaskRun.objects.get(pk=run.pk).status == "done", timeout=20)
    assert TaskRun.objects.get(pk=run.pk).result == "Awarded 2 badges (all activity types)."
    for thread in threading.enumerate():
        if thread.name.startswith("task-run-"):
            thread.join(timeout=10)


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_while_the_task_runs(monkeypatch):
    import MySQLdb
    from django.db import connection

    assert is_mariadb()
    monkeypatch.setattr(task_runs, "PROGRESS_INTERVAL", 0.0)
    learners = qualified_learners(3)
    last = UserMetric.objects.filter(user__in=learners).order_by("-pk").first()
    database = connection.settings_dict
    locker = MySQLdb.connect(
        host=database["HOST"], port=int(database["PORT"]), user=database["USER"], db=database["NAME"]
    )
    try:
        locker.autocommit(False)
        locker.cursor().execute("SELECT value FROM gamification_usermetric WHERE id = %s FOR UPDATE", [last.pk])
        run = task_run_start(kind="award_badges", started_by=None)
        task_runs_run_due(background=True)  # the run_worker way: a thread

        # Blocked on the locked row: staff see it running, with its total and partial progress.
        assert wait_for(lambda: TaskRun.objects.get(pk=run.pk).total == 3, timeout=20)
        time.sleep(0.5)
        seen = TaskRun.objects.get(pk=run.pk)
        assert seen.status == "running" and seen.done < 3
    finally:
        locker.rollback()
        locker.close()
    assert wait_for(lambda: TaskRun.objects.get(pk=run.pk).status == "done", timeout=30)
    assert TaskRun.objects.get(pk=run.pk).done == 3
    for thread in threading.enumerate():
        if thread.name.startswith("task-run-"):
            thread.join(timeout=10)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_with_a_broker_a_started_task_runs_on_celery(broker):
    from celery.contrib.testing.worker import start_worker

    qualified_learners(2)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        run = task_run_start(kind="award_badges", started_by=None)  # commits: handed to the broker
        assert wait_for(lambda: TaskRun.objects.get(pk=run.pk).status == "done", timeout=20)
    assert TaskRun.objects.get(pk=run.pk).done == 2
