"""HQ staff and roles (CONTRACT §3a): admins create users and change their role or access."""

from flask import g
from marshmallow import Schema, fields, validate

from app.api import ADMIN, bp, doc, idempotent, load, reply
from app.api.fields import Str, StrictBool
from app.api.schemas import USERNAME, StrictSchema
from app.models.accounts import HQ_ROLES
from app.services import staff

ROLE = validate.OneOf(HQ_ROLES)
PASSWORD = validate.Length(min=1, max=128)


class StaffCreateSchema(StrictSchema):
    username = Str(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=PASSWORD)
    name = Str(allow_empty=True, load_default="", validate=validate.Length(max=128))
    role = fields.String(required=True, validate=ROLE)


class StaffUpdateSchema(StrictSchema):
    name = Str(allow_empty=True, validate=validate.Length(max=128))
    password = fields.String(validate=PASSWORD)
    role = fields.String(validate=ROLE)
    active = StrictBool()


class StaffOutSchema(Schema):
    username = fields.String()
    name = fields.String()
    role = fields.String()
    active = fields.Boolean()


@bp.post("/admin/users")
@doc(
    summary="Create an HQ user with a role (admin, order_desk, finance)",
    role=ADMIN,
    body=StaffCreateSchema,
    response=StaffOutSchema,
    status=201,
    errors=(400, 401, 403, 409, 422),
)
@idempotent
def create_staff_user():
    data = load(StaffCreateSchema())
    user = staff.create_staff(
        g.api_user, data["username"], data["password"], data["role"], data["name"]
    )
    return reply(StaffOutSchema(), user, 201)


@bp.patch("/admin/users/<username>")
@doc(
    summary="Change an HQ user's name, password, role or active flag",
    role=ADMIN,
    body=StaffUpdateSchema,
    response=StaffOutSchema,
    errors=(400, 401, 403, 404, 409, 422),
)
def update_staff_user(username: str):
    data = load(StaffUpdateSchema())
    return reply(StaffOutSchema(), staff.update_staff(g.api_user, username, data))
