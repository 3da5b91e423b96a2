"""Admin pages for outbound webhooks (SPEC §11.3): endpoints, deliveries and their attempts.

Endpoints: staff register the URL, a secret and the event types; the secret is written once
(on creation, or to replace it) and shown afterwards only masked. Saving goes through the
webhook services, which validate the URL and clear the subscriber cache. "Send a test event"
queues a ``webhook.test`` delivery for the chosen endpoints.

Deliveries are read-only (the worker writes them): status, attempts, last answer and error, and
every attempt inline. "Resend" makes a delivery due now, with the same delivery id.
"""

import json
import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from gamification.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEventType
from gamification.services.webhook_delivery import webhook_deliveries_resend
from gamification.services.webhooks import (
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_secret_masked,
    webhook_test_send,
)
from gamification.validators import webhook_event_types_validate, webhook_secret_validate, webhook_url_validate


class WebhookEndpointForm(forms.ModelForm):
    # A plain text field: Django's URLField would guess a scheme for "example.org/hook".
    url = forms.CharField(
        label="URL",
        max_length=500,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text=WebhookEndpoint.url.field.help_text,
    )
    event_types = forms.MultipleChoiceField(
        choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple, label="Event types"
    )
    new_secret = forms.CharField(
        label="Secret",
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 60}),
        help_text="Signs every delivery (X-Gamification-Signature). It is shown only masked once saved.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "event_types", "active", "description")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["new_secret"].label = "New secret"
            self.fields["new_secret"].help_text = "Leave blank to keep the current secret."
        else:
            self.fields["new_secret"].required = True

    def clean_url(self) -> str:
        return webhook_url_validate(self.cleaned_data.get("url"))

    def clean_event_types(self) -> list[str]:
        return webhook_event_types_validate(list(self.cleaned_data.get("event_types") or []))

    def clean_new_secret(self) -> str:
        secret = self.cleaned_data.get("new_secret") or ""
        if secret or not self.instance.pk:
            try:
                return webhook_secret_validate(secret)
            except ValidationError as error:
                raise forms.ValidationError(error.messages) from None
        return ""


def _count_of(status: str) -> Coalesce:
    counts = (
        WebhookDelivery.objects.filter(endpoint=OuterRef("pk"), status=status)
        .order_by()
        .values("endpoint")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "active", "types", "pending_deliveries", "failed_deliveries", "updated_at")
    list_filter = ("active",)
    search_fields = ("url", "description")
    readonly_fields = ("masked_secret", "created_at", "updated_at")
    actions = ["send_test_event"]

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None):
        fields = ["url", "event_types", "active", "description"]
        if obj is None:
            return [*fields[:1], "new_secret", *fields[1:]]
        return [*fields[:1], "masked_secret", "new_secret", *fields[1:], "created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEndpoint]:
        return (
            super()
            .get_queryset(request)
            .annotate(pending=_count_of(DeliveryStatus.PENDING), failed=_count_of(DeliveryStatus.FAILED))
        )

    @admin.display(description="secret")
    def masked_secret(self, endpoint: WebhookEndpoint) -> str:
        return webhook_secret_masked(endpoint.secret)

    @admin.display(description="event types")
    def types(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types or [])

    def _deliveries_link(self, endpoint: WebhookEndpoint, status: str, count: int) -> str:
        url = reverse("admin:gamification_webhookdelivery_changelist")
        query = urlencode({"endpoint__id__exact": endpoint.pk, "status__exact": status})
        return format_html('<a href="{}?{}">{}</a>', url, query, count)

    @admin.display(description="pending", ordering="pending")
    def pending_deliveries(self, endpoint: WebhookEndpoint) -> str:
        return self._deliveries_link(endpoint, DeliveryStatus.PENDING, endpoint.pending)

    @admin.display(description="failed", ordering="failed")
    def failed_deliveries(self, endpoint: WebhookEndpoint) -> str:
        return self._deliveries_link(endpoint, DeliveryStatus.FAILED, endpoint.failed)

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: WebhookEndpointForm, change: bool) -> None:
        data = form.cleaned_data
        webhook_endpoint_update(
            endpoint=obj,
            url=data["url"],
            secret=data.get("new_secret") or None,
            event_types=data["event_types"],
            active=data["active"],
            description=data.get("description") or "",
        )

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        webhook_endpoint_delete(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_endpoint_delete(endpoint=endpoint)

    @admin.action(description="Send a test event (webhook.test) to the selected endpoints", permissions=["change"])
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_test_send(endpoint=endpoint)
        url = reverse("admin:gamification_webhookdelivery_changelist") + "?" + urlencode({"event_type": "webhook.test"})
        self.message_user(
            request,
            format_html(
                'Queued {} test event(s); the worker sends them within seconds: see <a href="{}">deliveries</a>.',
                queryset.count(),
                url,
            ),
            messages.SUCCESS,
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("attempted_at", "status_code", "outcome", "duration_ms", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("attempted_at", "id")

    def has_add_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        return False


class EventTypeFilter(admin.SimpleListFilter):
    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        return [(value, value) for value in [*WebhookEventType.values, "webhook.test"]]

    def queryset(self, request, queryset):
        return queryset.filter(event_type=self.value()) if self.value() else queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "delivery_id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "short_error",
        "created_at",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", EventTypeFilter, "endpoint")
    list_select_related = ("endpoint",)
    search_fields = ("delivery_id",)
    search_help_text = "A delivery id (the X-Gamification-Delivery header)"
    date_hierarchy = "created_at"
    list_per_page = 100
    show_full_result_count = False
    fields = (
        "delivery_id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "created_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "retry_until",
        "delivered_at",
        "payload",
    )
    readonly_fields = fields
    inlines = (WebhookAttemptInline,)
    actions = ["resend"]

    @admin.display(description="last error")
    def short_error(self, delivery: WebhookDelivery) -> str:
        return delivery.last_error if len(delivery.last_error) <= 80 else delivery.last_error[:79] + "…"

    @admin.display(description="data")
    def payload(self, delivery: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(delivery.data, indent=2, ensure_ascii=False))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(delivery_id=uuid.UUID(term)), False
        except ValueError:
            return queryset.none(), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        # The change page is view-only; the list's "resend" action needs the change permission.
        return obj is None and super().has_change_permission(request)

    @admin.action(description="Resend the selected deliveries now (same delivery id)", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = webhook_deliveries_resend(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} delivery(ies) queued again; the worker sends them within seconds.")
