"""Errors raised by services; the API's exception handler turns them into DRF responses.

Services raise these (or Django's ``ValidationError`` for bad input, with field errors) and never
build HTTP responses themselves: the answer is ``{"detail": message}`` with ``status_code``.
"""


class ServiceError(Exception):
    status_code = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class NotFoundError(ServiceError):
    status_code = 404
    default_message = "Not found."


class ConflictError(ServiceError):
    status_code = 409
    default_message = "This conflicts with the current state."


class ForbiddenError(ServiceError):
    status_code = 403
    default_message = "You do not have permission to perform this action."


class AuthenticationError(ServiceError):
    status_code = 401
    default_message = "Invalid token."
