"""Service refusals on the admin's save, shown on the form like any validation error.

A rule the database decides at write time (a unique invite code) is only known once the service
writes. When ``save_model``/``save_formset`` call a service that refuses, the admin's transaction
is rolled back and the same POST is shown again with the refusal next to its field: nothing was
saved, and nothing staff typed is lost.
"""

from django.core.exceptions import ValidationError

from gamification.exceptions import ServiceError


class ServiceErrorsAdminMixin:
    """For a ModelAdmin whose saves call services that may raise ``ValidationError`` (field
    errors) or a ``ServiceError`` (shown above the form)."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ValidationError, ServiceError) as error:
            # Raised inside the admin's atomic block, which has rolled back.
            if request.method != "POST" or hasattr(request, "_service_refusal"):
                raise
            request._service_refusal = (
                error if isinstance(error, ValidationError) else ValidationError(error.message, code="service")
            )
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "_service_refusal", None)
        if refusal is None:
            return form_class

        class WithRefusal(form_class):
            def clean(self):
                cleaned = super().clean()
                fields = getattr(refusal, "error_dict", {})
                if fields and all(name in self.fields for name in fields):
                    self.add_error(None, refusal)
                else:
                    self.add_error(None, ValidationError(refusal.messages))
                return cleaned

        return WithRefusal
