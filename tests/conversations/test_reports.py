"""Reports: the figures kept by the listener and by the rebuild, read back against a hand-built
dataset with known medians (in São Paulo's time zone, across midnight), in a fixed number of
queries; the page, its CSV and the API, for those who read the figures only."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from config.errors import ValidationFailed
from conversations.events import ConversationCreated, ConversationStatusChanged, MessageCreated
from conversations.models import Conversation, Message, ReportConversation, ReportHour
from conversations.reports.aggregates import report_count_many, report_rebuild
from conversations.reports.figures import ReportFilters, percentile, report_figures, report_filters_parse
from tenants.models import TenantEvent
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
SAO_PAULO = ZoneInfo("America/Sao_Paulo")  # UTC-3 all year
DAY = dt.date(2026, 3, 10)


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SAO_PAULO)


def _ids(conversation: Conversation) -> dict[str, Any]:
    return {"tenant_pk": conversation.tenant_id, "conversation_pk": conversation.pk,
            "channel_pk": conversation.channel_id, "conversation_id": str(conversation.public_id),
            "channel_id": str(conversation.channel.public_id)}


def _message_event(message: Message) -> MessageCreated:
    conversation = message.conversation
    return MessageCreated(tenant_pk=message.tenant_id, message_pk=message.pk, conversation_pk=conversation.pk,
                          channel_pk=message.channel_id, message_id=str(message.public_id),
                          conversation_id=str(conversation.public_id), channel_id=str(conversation.channel.public_id),
                          direction=message.direction, private=message.private)


def _at(monkeypatch: Any, moment: dt.datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


def conversation_lived(monkeypatch: Any, *, channel: Any, opened: dt.datetime, first_reply: int | None,
                       resolved: int | None, agent: Any = None, team: Any = None, labels: tuple[Any, ...] = (),
                       note: bool = False) -> Conversation:
    """A conversation opened at `opened`, answered by `agent` `first_reply` seconds later and resolved
    `resolved` seconds after it opened, told to the listener as the services would (their events)."""
    conversation = factories.ConversationFactory(tenant=channel.tenant, channel=channel, assignee=agent, team=team)
    Conversation.all_objects.filter(pk=conversation.pk).update(created_at=opened)
    conversation.refresh_from_db()
    conversation.labels.set(labels)
    _at(monkeypatch, opened)
    report_count_many([ConversationCreated(**_ids(conversation))])
    inbound = factories.MessageFactory(conversation=conversation, created_at=opened)
    report_count_many([_message_event(inbound)])
    if note:  # a private note is no answer
        report_count_many([_message_event(factories.MessageFactory(
            conversation=conversation, direction=Message.Direction.OUTBOUND, sender_type=Message.SenderType.AGENT,
            sender_user=agent, private=True, created_at=opened + dt.timedelta(seconds=1)))])
    if first_reply is not None:
        reply = factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                         sender_type=Message.SenderType.AGENT, sender_user=agent,
                                         created_at=opened + dt.timedelta(seconds=first_reply))
        report_count_many([_message_event(reply)])
    if resolved is not None:
        at = opened + dt.timedelta(seconds=resolved)
        Conversation.all_objects.filter(pk=conversation.pk).update(status=Conversation.Status.RESOLVED,
                                                                   last_activity_at=at)
        TenantEvent.all_objects.create(tenant_id=conversation.tenant_id, name=ConversationStatusChanged.name,
                                       conversation_id=conversation.pk, created_at=at,
                                       payload={"old_status": "OPEN", "new_status": "RESOLVED"})
        _at(monkeypatch, at)
        report_count_many([ConversationStatusChanged(**_ids(conversation), old_status="OPEN", new_status="RESOLVED",
                                                     actor_id=None)])
    monkeypatch.undo()
    return conversation


@pytest.fixture
def dataset(acme, member, monkeypatch):
    """Acme in São Paulo: five conversations resolved on DAY with known times, one resolved at 23:30
    on DAY (02:30 UTC the next day), one at 00:30 the next day, one still open; two channels, two
    agents, a team and a label."""
    acme.time_zone = "America/Sao_Paulo"
    acme.save()
    sales = factories.ChannelFactory(tenant=acme, name="Vendas")
    support = factories.ChannelFactory(tenant=acme, name="Suporte")
    ana = member(acme, Role.AGENT, channels=(sales, support), full_name="Ana").user
    bruno = member(acme, Role.AGENT, channels=(sales,), full_name="Bruno").user
    team = factories.TeamFactory(tenant=acme, name="Atendimento")
    vip = factories.LabelFactory(tenant=acme, name="vip")
    # First replies 60, 120, 180, 240, 600 s; resolutions 600, 1200, 1800, 2400, 6000 s.
    for index, (reply, resolution) in enumerate([(60, 600), (120, 1200), (180, 1800), (240, 2400), (600, 6000)]):
        conversation_lived(monkeypatch, channel=sales if index < 3 else support, opened=_local(DAY, 9 + index),
                           first_reply=reply, resolved=resolution, agent=ana if index % 2 == 0 else bruno,
                           team=team if index < 2 else None, labels=(vip,) if index in (0, 4) else (),
                           note=index == 0)
    late = conversation_lived(monkeypatch, channel=sales, opened=_local(DAY, 23, 0), first_reply=300,
                              resolved=1800, agent=ana)  # resolved 23:30 on DAY
    after_midnight = conversation_lived(monkeypatch, channel=sales, opened=_local(DAY, 23, 50), first_reply=None,
                                        resolved=2400, agent=bruno)  # resolved 00:30 the next day
    conversation_lived(monkeypatch, channel=support, opened=_local(DAY, 15), first_reply=30, resolved=None)
    return {"tenant": acme, "sales": sales, "support": support, "ana": ana, "bruno": bruno, "team": team,
            "vip": vip, "late": late, "after_midnight": after_midnight}


def _access(membership: Any) -> Any:
    from accounts.access import TenantAccess

    return TenantAccess(user=membership.user, tenant=membership.tenant, role=membership.role)


def _figures(membership: Any, filters: ReportFilters) -> Any:
    from tenants.scoping import tenant_context

    with tenant_context(membership.tenant):
        return report_figures(access=_access(membership), filters=filters)


def test_percentile_interpolates_as_percentile_cont():
    assert percentile([60, 120, 180, 240, 600], 0.5) == 180
    assert percentile([60, 120, 180, 240, 600], 0.9) == pytest.approx(456)
    assert percentile([10, 20], 0.5) == 15
    assert percentile([], 0.5) is None


def test_figures_of_a_day_have_the_known_medians_and_midnight_in_the_tenants_time_zone(dataset, member):
    manager = member(dataset["tenant"], Role.MANAGER)
    report = _figures(manager, ReportFilters(start=DAY, end=DAY + dt.timedelta(days=1)))
    day, next_day = report.series
    assert day.start == _local(DAY, 0)
    # DAY: the five, the 23:00 one (resolved 23:30 local, 02:30 UTC the next day), and the open one.
    assert (day.figures.opened, day.figures.resolved) == (8, 6)
    assert (next_day.figures.opened, next_day.figures.resolved) == (0, 1)
    times = day.figures.times
    # First replies 60, 120, 180, 240, 300, 600 (the note is none); resolutions 600...6000 and 1800.
    assert times.resolved == 6
    assert times.first_response_median == pytest.approx(210)
    assert times.first_response_p90 == pytest.approx(450)
    assert times.resolution_median == pytest.approx(1800)
    assert times.resolution_p90 == pytest.approx(4200)
    assert next_day.figures.times.resolved == 1
    assert next_day.figures.times.first_response_median is None
    assert next_day.figures.times.resolution_median == pytest.approx(2400)
    assert (report.totals.messages_in, report.totals.messages_out) == (8, 7)


def test_figures_by_channel_agent_team_and_label(dataset, member):
    manager = member(dataset["tenant"], Role.MANAGER)
    report = _figures(manager, ReportFilters(start=DAY, end=DAY))
    channels = {row.name: row.figures for row in report.channels}
    assert channels["Vendas"].resolved == 4 and channels["Suporte"].resolved == 2
    assert channels["Vendas"].times.first_response_median == pytest.approx(150)  # 60, 120, 180, 300
    agents = {row.name: row.figures for row in report.agents}
    # Ana: 60, 180, 600 and the 23:00 one's 300 → median 240; she sent 4 replies, Bruno 2 and the open one's reply none.
    assert agents["Ana"].times.first_response_median == pytest.approx(240)
    assert (agents["Ana"].resolved, agents["Ana"].messages_out) == (4, 4)
    assert (agents["Bruno"].resolved, agents["Bruno"].messages_out) == (2, 2)
    teams = {row.name: row.figures for row in report.teams}
    assert teams["Atendimento"].resolved == 2
    assert teams["Atendimento"].times.resolution_median == pytest.approx(900)
    labels = {row.name: row.figures for row in report.labels}
    assert (labels["vip"].opened, labels["vip"].resolved) == (2, 2)
    assert labels["vip"].times.resolution_median == pytest.approx(3300)  # 600 and 6000
    # The heat map: DAY is a Tuesday; messages in at 09:00 ... 23:00 São Paulo time.
    assert report.busiest_hours[1][9] == 1 and report.busiest_hours[1][23] == 2
    assert sum(map(sum, report.busiest_hours)) == 8


def test_weeks_and_months_hold_their_days(dataset, member):
    """The periods are folded from the hours in the tenant's zone: a week (from its Monday) and a
    month hold what their days hold, the 23:30 resolution on its São Paulo day."""
    manager = member(dataset["tenant"], Role.MANAGER)
    days = _figures(manager, ReportFilters(start=DAY, end=DAY + dt.timedelta(days=1)))
    for group, first in (("week", dt.date(2026, 3, 9)), ("month", dt.date(2026, 3, 1))):
        report = _figures(manager, ReportFilters(start=DAY, end=DAY + dt.timedelta(days=1), group=group))
        (bucket,) = report.series
        assert bucket.start == _local(first, 0)
        assert (bucket.figures.opened, bucket.figures.resolved) == (8, 7)
        assert (bucket.figures.messages_in, bucket.figures.messages_out) == (
            sum(one.figures.messages_in for one in days.series), sum(one.figures.messages_out for one in days.series))
        assert bucket.figures.times.resolved == 7
        assert report.busiest_hours == days.busiest_hours


def test_filters_narrow_every_figure(dataset, member):
    manager = member(dataset["tenant"], Role.MANAGER)
    report = _figures(manager, ReportFilters(start=DAY, end=DAY,
                                                                            agent=dataset["bruno"]))
    assert report.totals.resolved == 2
    assert report.totals.times.resolution_median == pytest.approx(1800)  # 1200 and 2400


def test_rebuild_recomputes_the_same_figures(dataset, member):
    manager = member(dataset["tenant"], Role.MANAGER)
    filters = ReportFilters(start=DAY, end=DAY + dt.timedelta(days=1))
    before = _figures(manager, filters)
    ReportHour.all_objects.all().delete()
    ReportConversation.all_objects.all().delete()

    assert report_rebuild(tenant=dataset["tenant"]) == 8

    after = _figures(manager, filters)
    assert after.series == before.series
    assert after.agents == before.agents and after.labels == before.labels
    assert after.busiest_hours == before.busiest_hours


def test_rebuild_writes_a_large_batch_in_statements_postgresql_takes(dataset, member, monkeypatch):
    """A rebuild's batch can hold more hours and openings than one statement's 65,535 parameters
    take: they are written ROWS_A_STATEMENT rows at a time, to the same figures."""
    from conversations.reports import aggregates

    manager = member(dataset["tenant"], Role.MANAGER)
    filters = ReportFilters(start=DAY, end=DAY + dt.timedelta(days=1))
    before = _figures(manager, filters)
    ReportHour.all_objects.all().delete()
    ReportConversation.all_objects.all().delete()
    monkeypatch.setattr(aggregates, "ROWS_A_STATEMENT", 2)
    written = []
    hours_add = aggregates._hours_add
    monkeypatch.setattr(aggregates, "_hours_add", lambda rows: written.append(len(rows)) or hours_add(rows))

    report_rebuild(tenant=dataset["tenant"])

    assert written and max(written) <= 2 and sum(written) > 2
    after = _figures(manager, filters)
    assert after.series == before.series and after.agents == before.agents


def test_rebuild_since_a_day_keeps_what_came_before(dataset, member):
    manager = member(dataset["tenant"], Role.MANAGER)
    filters = ReportFilters(start=DAY, end=DAY + dt.timedelta(days=1))
    before = _figures(manager, filters)

    report_rebuild(tenant=dataset["tenant"], since=_local(DAY, 12))

    assert _figures(manager, filters).series == before.series


def _login(membership: Any) -> Client:
    client = Client()
    response = client.post("/login/", {"email": membership.user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def test_reports_page_shows_the_figures_and_charts(dataset, member):
    manager = member(dataset["tenant"], Role.MANAGER)

    response = _login(manager).get("/reports/", {"from": DAY.isoformat(), "to": DAY.isoformat()})

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-figure="resolved">6<' in page
    assert page.count('<svg class="chart') == 5
    assert "Ana" in page and "Atendimento" in page and "vip" in page


def test_agents_are_refused_the_reports(dataset, member):
    agent = member(dataset["tenant"], Role.AGENT)
    client = _login(agent)

    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/export/series.csv").status_code == 403
    assert 'href="/reports/"' not in client.get("/inbox/").content.decode()


def test_managers_find_the_reports_in_the_inbox_top_bar(acme, member):
    assert 'href="/reports/"' in _login(member(acme, Role.MANAGER)).get("/inbox/").content.decode()


def test_bad_filters_are_told_not_failed(dataset, member):
    client = _login(member(dataset["tenant"], Role.MANAGER))

    response = client.get("/reports/", {"from": "2026-13-01", "channel": "not-an-id"})

    assert response.status_code == 400
    assert response.content.decode().count('class="inline-error"') == 2  # the date and the channel


def test_csv_export_has_the_figures_and_neutralises_formulas(dataset, member):
    ana = dataset["ana"]
    ana.full_name = "=HYPERLINK(1)"
    ana.save()
    client = _login(member(dataset["tenant"], Role.MANAGER))

    response = client.get("/reports/export/agents.csv", {"from": DAY.isoformat(), "to": DAY.isoformat()})

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="report-agents-{DAY}-{DAY}.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows[0]) == 10 and rows[0][0] == "Id"  # in the member's language
    ana_row = next(row for row in rows if row[0] == str(ana.public_id))
    assert ana_row[1] == "'=HYPERLINK(1)"
    assert ana_row[3] == "4" and ana_row[6] == "240"  # resolved, first response median (s)

    series = client.get("/reports/export/series.csv", {"from": DAY.isoformat(), "to": DAY.isoformat()})
    lines = list(csv.reader(io.StringIO(b"".join(series.streaming_content).decode())))
    assert lines[1][:3] == [DAY.isoformat(), "8", "6"]


def test_viewers_see_their_channels_figures_only(dataset, member):
    viewer = member(dataset["tenant"], Role.VIEWER, channels=(dataset["support"],))
    report = _figures(viewer, ReportFilters(start=DAY, end=DAY))
    assert [row.name for row in report.channels] == ["Suporte"]
    assert report.totals.resolved == 2


def test_another_tenants_figures_are_not_shown(dataset, globex, member):
    outsider = member(globex, Role.TENANT_ADMIN)
    report = _figures(outsider, ReportFilters(start=DAY, end=DAY))
    assert report.totals.opened == 0 and report.channels == [] and report.agents == []
    with pytest.raises(ValidationFailed):  # a filter naming another tenant's channel: unknown
        from tenants.scoping import tenant_context

        with tenant_context(globex):
            report_filters_parse(access=_access(outsider), params={"channel": str(dataset["sales"].public_id)})


def test_report_queries_do_not_grow_with_the_rows(dataset, member, monkeypatch):
    manager = member(dataset["tenant"], Role.MANAGER)
    client = _login(manager)
    params = {"from": DAY.isoformat(), "to": (DAY + dt.timedelta(days=1)).isoformat()}

    def counted() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/reports/", params).status_code == 200
        return len(queries)

    before = counted()
    # The figures' own: the hourly rows once, the times once, the labels once (twice without
    # PostgreSQL's FILTER; twice the hourly rows without GROUPING SETS), and the names.
    assert before <= (13 if connection.vendor == "postgresql" else 15)
    for index in range(5):
        conversation_lived(monkeypatch, channel=dataset["support"], opened=_local(DAY, 10, index * 5), first_reply=90,
                           resolved=900, agent=factories.UserFactory(), team=factories.TeamFactory(
                               tenant=dataset["tenant"]), labels=(factories.LabelFactory(tenant=dataset["tenant"]),))
    assert counted() == before


def test_api_gives_the_same_figures(dataset, member, api):
    manager = member(dataset["tenant"], Role.MANAGER)

    response = api(manager).get("/api/v1/reports/overview", {"from": DAY.isoformat(), "to": DAY.isoformat(),
                                                             "group": "week"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"start", "end", "time_zone", "group", "totals", "series", "channels", "teams", "agents",
                         "labels", "busiest_hours"}
    assert body["time_zone"] == "America/Sao_Paulo" and body["group"] == "week"
    assert body["totals"]["resolved"] == 6
    assert body["totals"]["times"]["first_response_median"] == pytest.approx(210)
    assert body["series"][0]["start"].startswith("2026-03-09T00:00:00-03:00")  # the Monday, São Paulo time
    ana = next(row for row in body["agents"] if row["id"] == str(dataset["ana"].public_id))
    assert ana["figures"]["times"]["first_response_median"] == pytest.approx(240)
    assert len(body["busiest_hours"]) == 7 and len(body["busiest_hours"][0]) == 24


def test_api_refuses_agents_and_bad_filters(dataset, member, api):
    assert api(member(dataset["tenant"], Role.AGENT)).get("/api/v1/reports/overview").status_code == 403
    response = api(member(dataset["tenant"], Role.VIEWER)).get("/api/v1/reports/overview",
                                                               {"from": "2026-03-10", "to": "2025-01-01"})
    assert response.status_code == 422, response.content  # the API's validation status
    assert "from" in response.json()["error"]["details"]
    far = api(member(dataset["tenant"], Role.MANAGER)).get("/api/v1/reports/overview", {"from": "9999-12-31",
                                                                                       "to": "9999-12-31"})
    assert far.status_code == 422 and set(far.json()["error"]["details"]) == {"from", "to"}
    blank = api(member(dataset["tenant"], Role.MANAGER)).get("/api/v1/reports/overview", {"to": "", "channel": ""})
    assert blank.status_code == 422 and set(blank.json()["error"]["details"]) == {"to", "channel"}


def test_api_queries_do_not_grow_with_the_rows(dataset, member, api, monkeypatch):
    client = api(member(dataset["tenant"], Role.VIEWER, channels=(dataset["sales"], dataset["support"])))

    def counted() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/reports/overview", {"from": DAY.isoformat()}).status_code == 200
        return len(queries)

    before = counted()
    assert before <= (8 if connection.vendor == "postgresql" else 10)
    for index in range(4):
        conversation_lived(monkeypatch, channel=dataset["sales"], opened=_local(DAY, 11, index), first_reply=60,
                           resolved=600, agent=factories.UserFactory(),
                           labels=(factories.LabelFactory(tenant=dataset["tenant"]),))
    assert counted() == before


def test_the_services_events_keep_the_figures(acme, member, django_capture_on_commit_callbacks):
    from conversations.services import conversation_update
    from conversations.services.messages import message_send

    channel = factories.ChannelFactory(tenant=acme, kind="api")
    agent = member(acme, Role.AGENT, channels=(channel,)).user
    conversation = factories.ConversationFactory(tenant=acme, channel=channel, assignee=agent)
    with django_capture_on_commit_callbacks(execute=True):
        report_count_many([ConversationCreated(**_ids(conversation))])
        message_send(conversation=conversation, actor=agent, content="Olá!")
        message_send(conversation=conversation, actor=agent, content="nota", private=True)
        conversation_update(conversation=conversation, actor=agent, status=Conversation.Status.RESOLVED)

    opening = ReportConversation.all_objects.get(conversation=conversation)
    assert opening.first_response_seconds is not None and opening.resolution_seconds is not None
    assert (opening.messages_out, opening.agent_key) == (1, agent.pk)
    hours = ReportHour.all_objects.filter(tenant=acme)
    assert sum(row.messages_out for row in hours) == 1
    assert sum(row.conversations_resolved for row in hours) == 1

    with django_capture_on_commit_callbacks(execute=True):  # reopened: a second opening
        conversation_update(conversation=conversation, actor=agent, status=Conversation.Status.OPEN)
    assert ReportConversation.all_objects.filter(conversation=conversation, resolved_at__isnull=True).count() == 1
    assert sum(row.conversations_opened for row in ReportHour.all_objects.filter(tenant=acme)) == 2


def test_a_batch_is_written_in_the_same_statements_whatever_its_size(acme):
    channel = factories.ChannelFactory(tenant=acme)

    def statements(count: int) -> int:
        conversations = [factories.ConversationFactory(tenant=acme, channel=channel) for _index in range(count)]
        messages = [factories.MessageFactory(conversation=conversation) for conversation in conversations]
        events = [ConversationCreated(**_ids(one)) for one in conversations] + [_message_event(one)
                                                                               for one in messages]
        with CaptureQueriesContext(connection) as queries:
            report_count_many(events)
        return len(queries)

    assert statements(1) == statements(20) == 3  # one read, two upserts


def test_an_api_key_limited_to_a_channel_reads_that_channels_figures(dataset, member):
    from rest_framework.test import APIClient

    from accounts.api_keys import api_key_create

    admin = member(dataset["tenant"], Role.TENANT_ADMIN)
    created = api_key_create(tenant=dataset["tenant"], actor=admin.user, name="BI", scope="read",
                             channel_ids=[dataset["support"].public_id])
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=created.key)

    response = client.get("/api/v1/reports/overview", {"from": DAY.isoformat(), "to": DAY.isoformat()})

    assert response.status_code == 200, response.content
    assert [row["name"] for row in response.json()["channels"]] == ["Suporte"]
    assert response.json()["totals"]["resolved"] == 2
