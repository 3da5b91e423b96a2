from gamification.models.activity import ActivityEvent, EventType, FirstOccurrence, PracticeKind
from gamification.models.badges import (
    ActivityType,
    AwardMechanism,
    Badge,
    BadgeAuditEntry,
    CatalogueVersion,
    UserBadge,
    UserMetric,
)
from gamification.models.classrooms import Classroom, ClassroomMembership, ClassroomRole
from gamification.models.friends import FriendRequest, Friendship
from gamification.models.languages import Language
from gamification.models.streaks import LanguageStreak, PracticeDay
from gamification.models.tokens import ClientToken
from gamification.models.users import User
from gamification.models.webhooks import (
    WEBHOOK_TEST_EVENT,
    DeliveryStatus,
    StreakAtRiskNotice,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)

__all__ = [
    "WEBHOOK_TEST_EVENT",
    "ActivityEvent",
    "ActivityType",
    "AwardMechanism",
    "Badge",
    "BadgeAuditEntry",
    "CatalogueVersion",
    "Classroom",
    "ClassroomMembership",
    "ClassroomRole",
    "ClientToken",
    "DeliveryStatus",
    "EventType",
    "FirstOccurrence",
    "FriendRequest",
    "Friendship",
    "Language",
    "LanguageStreak",
    "PracticeDay",
    "PracticeKind",
    "StreakAtRiskNotice",
    "User",
    "UserBadge",
    "UserMetric",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEventType",
]
