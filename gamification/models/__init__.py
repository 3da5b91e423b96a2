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
from gamification.models.queue import QueuedEventBatch, TaskKind, TaskRun, TaskStatus
from gamification.models.safety import Block, PrivacySettings, ProgressVisibility
from gamification.models.streaks import LanguageStreak, PracticeDay, RestDay
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
    "Block",
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
    "PrivacySettings",
    "ProgressVisibility",
    "QueuedEventBatch",
    "RestDay",
    "StreakAtRiskNotice",
    "TaskKind",
    "TaskRun",
    "TaskStatus",
    "User",
    "UserBadge",
    "UserMetric",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEventType",
]
