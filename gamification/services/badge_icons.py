"""Uploaded badge icons (SPEC §7, §14): checked, re-encoded, and deleted once replaced.

Staff may upload PNG, JPEG or WebP icons; learners' browsers load them from this site. An upload
is never stored as sent: after the checks it is decoded and encoded again, so that only the
pixels survive (no metadata, no bytes appended after the image, no second file format hiding in
the same bytes). When a badge's upload is replaced or the badge is deleted, the old file is
deleted once the change commits.
"""

import io
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.template.defaultfilters import filesizeformat
from django.templatetags.static import static
from PIL import Image, ImageOps, UnidentifiedImageError

if TYPE_CHECKING:
    from gamification.models import Badge

ICON_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
ICON_CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
ICON_MIN_PIXELS = 16
ICON_MAX_PIXELS = 1024
BUNDLED_ICON_DIR = "gamification/badges"


def bundled_icon_path(icon: str) -> str | None:
    """The static URL path of a bundled SVG icon, by its base name (``translated_words_1``).

    None when the name is not a bundled file that the static storage knows: the hashed-manifest
    storage used in production raises ValueError for unknown names, and a stray name in the
    database must never turn a badge list into a 500.
    """
    try:
        return static(f"{BUNDLED_ICON_DIR}/{icon}.svg")
    except ValueError:
        return None


def badge_icon_path(badge: "Badge") -> str | None:
    """The site-relative URL path of a badge's icon: the staff upload when there is one, else the
    bundled SVG; None when the badge has no icon at all."""
    if badge.icon_upload:
        return badge.icon_upload.url
    return bundled_icon_path(badge.icon) if badge.icon else None


def _looks_like_svg(upload: UploadedFile, head: bytes) -> bool:
    name = (upload.name or "").lower()
    text = head.lstrip().lower()
    return (
        name.endswith((".svg", ".svgz"))
        or (upload.content_type or "").startswith("image/svg")
        or text.startswith(b"<svg")
        or (text.startswith(b"<?xml") and b"<svg" in text)
    )


def badge_icon_validate(upload: UploadedFile) -> str:
    """Check an uploaded icon and return its real format (a key of ``ICON_FORMATS``).

    Refuses SVG (it can carry scripts), anything Pillow cannot identify, formats other than PNG,
    JPEG and WebP, files over ``settings.BADGE_ICON_MAX_BYTES`` and images outside
    ICON_MIN_PIXELS..ICON_MAX_PIXELS on either side. The size is checked before any decoding, and
    the dimensions are read from the header before the image is verified, so oversized or
    decompression-bomb files are never decoded.
    """
    limit = settings.BADGE_ICON_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            "The file is %(size)s; icons may be at most %(limit)s.",
            code="icon_too_large",
            params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
        )
    upload.seek(0)
    head = upload.read(512)
    upload.seek(0)
    if _looks_like_svg(upload, head):
        raise ValidationError(
            "SVG files cannot be uploaded because they can carry scripts. Upload a PNG, JPEG or WebP "
            "image, or pick one of the bundled SVG icons.",
            code="icon_svg",
        )
    try:
        with Image.open(upload) as image:
            image_format, (width, height) = image.format, image.size
            if image_format not in ICON_FORMATS:
                raise ValidationError(
                    "Only PNG, JPEG or WebP images are accepted; this file is %(format)s.",
                    code="icon_format",
                    params={"format": image_format or "of an unknown format"},
                )
            if not (ICON_MIN_PIXELS <= width <= ICON_MAX_PIXELS and ICON_MIN_PIXELS <= height <= ICON_MAX_PIXELS):
                raise ValidationError(
                    "The image is %(width)d x %(height)d pixels; each side must be between %(min)d and %(max)d.",
                    code="icon_dimensions",
                    params={"width": width, "height": height, "min": ICON_MIN_PIXELS, "max": ICON_MAX_PIXELS},
                )
            image.verify()
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise ValidationError("This file is not a valid PNG, JPEG or WebP image.", code="icon_invalid") from error
    finally:
        upload.seek(0)
    return image_format


def _reencoded(upload: UploadedFile, image_format: str) -> bytes:
    """The image's pixels, encoded afresh in its own format, with no metadata."""
    with Image.open(upload) as source:
        source.load()
        image = ImageOps.exif_transpose(source)  # keep the orientation EXIF asked for, drop EXIF
    if image_format == "JPEG":
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    else:
        image = image.copy()
    # Encoders copy comments, ICC profiles and EXIF from ``info`` unless told otherwise.
    image.info = {key: value for key, value in image.info.items() if key == "transparency"}
    output = io.BytesIO()
    options = {"quality": 90} if image_format in ("JPEG", "WEBP") else {"optimize": True}
    image.save(output, format=image_format, **options)
    return output.getvalue()


def badge_icon_clean(upload: UploadedFile) -> SimpleUploadedFile:
    """A checked upload, re-encoded: what is stored for the badge (ValidationError otherwise)."""
    image_format = badge_icon_validate(upload)
    try:
        content = _reencoded(upload, image_format)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ValidationError("This file is not a valid PNG, JPEG or WebP image.", code="icon_invalid") from error
    finally:
        upload.seek(0)
    name = f"{Path(upload.name or '').stem[:60] or 'icon'}.{ICON_FORMATS[image_format]}"
    return SimpleUploadedFile(name, content, content_type=ICON_CONTENT_TYPES[image_format])


def badge_icon_file_delete_on_commit(file: FieldFile | None) -> None:
    """Delete a stored icon file once the current transaction commits (now, outside one), so that
    a rolled-back change never loses the file its row still names."""
    name = file.name if file else ""
    if not name:
        return
    storage = file.storage
    transaction.on_commit(lambda: storage.delete(name))


def badge_icon_remember_stored(*, badge: "Badge") -> None:
    """Before a badge is saved: note which upload its stored row names (None for a new badge)."""
    from gamification.models import Badge

    badge._stored_icon_upload = (
        Badge.objects.filter(pk=badge.pk).values_list("icon_upload", flat=True).first() if badge.pk else None
    )


def badge_icon_delete_replaced(*, badge: "Badge") -> None:
    """After a badge is saved: delete the upload it named before when it names another now (a new
    upload, or none once staff cleared it)."""
    previous = getattr(badge, "_stored_icon_upload", None)
    badge._stored_icon_upload = badge.icon_upload.name or None
    if previous and previous != badge.icon_upload.name:
        badge_icon_file_delete_on_commit(FieldFile(badge, badge._meta.get_field("icon_upload"), previous))


def badge_icon_delete_of_deleted(*, badge: "Badge") -> None:
    """After a badge is deleted: delete its upload."""
    badge_icon_file_delete_on_commit(badge.icon_upload)
