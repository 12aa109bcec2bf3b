"""`python -m pingji.web.manage create_user NAME --role analyst --password X [--department sales]`

Create a user with a role (and department), or bring an existing one up to date: the same
command run twice leaves one user with the given role, department and password. Used by
`make demo` and the browser tests; audited like a change made on the users page."""

from __future__ import annotations

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from pingji.web.lib.access import ROLES, ensure_roles


class Command(BaseCommand):
    help = "Create or update a user with a role (admin, analyst, rater, viewer)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=ROLES)
        parser.add_argument("--password", required=True)
        parser.add_argument(
            "--department",
            help="department code (created with its usual name if new), e.g. sales, quality",
        )
        parser.add_argument("--name", default=None, help="the person's name, e.g. 张敏")
        parser.add_argument("--email", default=None)

    @transaction.atomic
    def handle(self, *args, username: str, role: str, password: str, **options) -> None:
        from pingji.web.accounts import services

        if not password:
            raise CommandError("--password must not be empty")
        if role == "rater" and not options["department"]:
            raise CommandError("a rater needs --department (raters rate for their department)")
        user = get_user_model().objects.filter(username=username).first()
        try:  # the rules of the users page: not too short, common or like the user's name
            password_validation.validate_password(
                password,
                user
                or get_user_model()(
                    username=username,
                    first_name=options["name"] or "",
                    email=options["email"] or "",
                ),
            )
        except ValidationError as exc:
            raise CommandError("--password is refused: " + " ".join(exc.messages)) from None
        ensure_roles()  # the role groups exist even before the first post_migrate
        code = options["department"]
        department = services.department_for_code(None, code) if code else None
        if user is None:
            services.create_user(
                None,
                username,
                password,
                role,
                department,
                name=options["name"] or "",
                email=options["email"] or "",
            )
            self.stdout.write(f"created user {username} ({role})")
            return
        services.update_user(
            None,
            user,
            name=user.first_name if options["name"] is None else options["name"],
            email=user.email if options["email"] is None else options["email"],
            role=role,
            department=department if code else user.profile.department,
            is_active=True,
        )
        if not user.check_password(password):
            services.set_password(None, user, password, note="create_user")
        self.stdout.write(f"updated user {username} ({role})")
