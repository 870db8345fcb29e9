"""Product images: checked by content with Pillow, resized on upload, kept in the database.

Why the database and not a directory: the app runs as several stateless processes on several
hosts that share no disk, and a resized pair is small (a phone-sized JPEG of at most
PHONE_SIDE px, tens of KB, and a THUMB_SIDE px thumbnail of a few KB). The upload itself is
never kept: only the re-encoded JPEGs, so whatever a file carried besides its pixels
(EXIF with GPS, scripts in a crafted file) is gone.

Each image is served under a URL naming its content digest, so it can be cached for a year
and a new image simply gets a new URL. Who may fetch it: HQ staff, and a dealer user who may
see the product (active and not limited to other tiers) — the same rule as the catalog; the
lookup by digest and that check are one statement.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from app.errors import Invalid
from app.extensions import db
from app.models import Product, ProductImage, User
from app.models.types import utcnow
from app.services import audit, permissions
from app.services.catalog import visible_to
from app.services.products import product_by_sku

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 5 MB file that would decode to more is a decompression bomb
PHONE_SIDE = 800
THUMB_SIDE = 160
FORMATS = ("JPEG", "PNG", "WEBP")
PHONE, THUMB = "phone", "thumb"
VARIANTS = (PHONE, THUMB)
MIMETYPE = "image/jpeg"
DIGEST_CHARS = 24


@dataclass(frozen=True, slots=True)
class Resized:
    """An upload made ready to store: both JPEGs, their sizes and the name of the pair."""

    image: bytes
    thumb: bytes
    size: tuple[int, int]
    thumb_size: tuple[int, int]
    source_format: str

    @property
    def digest(self) -> str:
        hashed = hashlib.sha256(self.image)
        hashed.update(self.thumb)
        return hashed.hexdigest()[:DIGEST_CHARS]


def _refuse(code: str, message: str) -> Invalid:
    return Invalid(message, code=code, errors={"image": [message]})


def _looks_like_ours(content: bytes) -> bool:
    """The file starts like a JPEG, PNG or WebP (so when Pillow cannot read it, it is damaged
    rather than of another type)."""
    return content.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or (
        content[:4] == b"RIFF" and content[8:12] == b"WEBP"
    )


def _opened(content: bytes) -> Image.Image:
    """The decoded picture; raises Invalid when it is not a whole JPEG, PNG or WebP."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(content), formats=FORMATS)
            if picture.width * picture.height > MAX_PIXELS:
                raise _refuse("image_too_many_pixels", "The image has too many pixels.")
            picture.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse("image_too_many_pixels", "The image has too many pixels.") from None
    except UnidentifiedImageError:
        if _looks_like_ours(content):
            raise _refuse("image_unreadable", "The image file is damaged or incomplete.") from None
        raise _refuse("image_type", "The image must be a JPEG, PNG or WebP file.") from None
    except (OSError, SyntaxError, ValueError):
        raise _refuse("image_unreadable", "The image file is damaged or incomplete.") from None
    return picture


def _flattened(picture: Image.Image) -> Image.Image:
    """Upright (as the camera's EXIF says) RGB, transparency on white."""
    picture = ImageOps.exif_transpose(picture)
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return picture.convert("RGB")


def _jpeg(picture: Image.Image, side: int, quality: int) -> tuple[bytes, tuple[int, int]]:
    copy = picture.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue(), copy.size


def resize(content: bytes) -> Resized:
    """Check an upload by its content and make the phone-sized image and the thumbnail
    (never enlarged). Raises Invalid: image_too_large (bytes), image_too_many_pixels,
    image_type, image_unreadable, image_missing."""
    if len(content) > MAX_BYTES:
        raise _refuse("image_too_large", "The image must be at most 5 MB.")
    if not content:
        raise _refuse("image_missing", "Choose an image file.")
    picture = _opened(content)
    source_format = picture.format
    try:
        flat = _flattened(picture)
    except (OSError, ValueError):
        raise _refuse("image_unreadable", "The image file is damaged or incomplete.") from None
    image, size = _jpeg(flat, PHONE_SIDE, 82)
    thumb, thumb_size = _jpeg(flat, THUMB_SIDE, 80)
    return Resized(image, thumb, size, thumb_size, source_format)


def set_image(sku: str, content: bytes, *, by: User | None = None) -> ProductImage:
    """Replace the product's image with this upload (checked and resized first, so a refused
    file stores nothing). Raises NotFound (product), Invalid (the file), Forbidden."""
    permissions.require(by, permissions.ADMIN)
    product = product_by_sku(sku)
    resized = resize(content)
    row = db.session.get(ProductImage, product.id)
    before = {"image": row.digest} if row else {}
    if row is None:
        row = ProductImage(product_id=product.id)
        db.session.add(row)
    row.digest, row.image, row.thumb = resized.digest, resized.image, resized.thumb
    row.width, row.height = resized.size
    row.thumb_width, row.thumb_height = resized.thumb_size
    row.source_format = resized.source_format
    row.uploaded_by_id = by.id if by is not None else None
    row.uploaded_at = utcnow()
    audit.record(by, "product.image", "product", sku, before, {"image": resized.digest})
    db.session.commit()
    return row


def remove_image(sku: str, *, by: User | None = None) -> bool:
    """Take the product's image away (its cards show the category initial again); False
    when it had none. Raises NotFound, Forbidden."""
    permissions.require(by, permissions.ADMIN)
    product = product_by_sku(sku)
    row = db.session.get(ProductImage, product.id)
    if row is None:
        return False
    audit.record(by, "product.image", "product", sku, {"image": row.digest}, {"image": None})
    db.session.delete(row)
    db.session.commit()
    return True


def digest_of(product_id: int) -> str | None:
    """The digest naming a product's current image, or None."""
    return db.session.scalar(
        select(ProductImage.digest).where(ProductImage.product_id == product_id)
    )


def image_info(product_id: int) -> ProductImage | None:
    """The product's image row without its bytes (sizes, digest, when), or None."""
    return db.session.get(ProductImage, product_id)


def fetch(viewer: User, digest: str, variant: str) -> bytes | None:
    """The JPEG bytes for this digest and variant, if `viewer` may see a product that shows
    it (HQ staff: any product; a dealer user: as in their catalog); else None."""
    if variant not in VARIANTS or len(digest) != DIGEST_CHARS:
        return None
    column = ProductImage.image if variant == PHONE else ProductImage.thumb
    query = select(column).where(ProductImage.digest == digest).limit(1)
    if not viewer.is_hq:
        if not viewer.is_dealer or viewer.dealer is None or not viewer.is_active:
            return None
        query = query.join(Product, Product.id == ProductImage.product_id).where(
            visible_to(viewer.dealer)
        )
    return db.session.scalar(query)
