"""flask --app wsgi create-admin | demo-data | demo-logins | backup | restore."""

from pathlib import Path

import click
from flask import Flask

from app import demo
from app.errors import DomainError
from app.services.accounts import create_admin


def register_cli(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    def create_admin_command(username: str, password: str):
        """Create an HQ admin, or set a new password for an existing one."""
        try:
            user, created = create_admin(username, password)
        except DomainError as err:
            raise click.ClickException(err.detail + " " + str(err.errors or "")) from err
        click.echo(f"{'Created' if created else 'Updated'} admin {user.username}.")

    @app.cli.command("demo-data")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
    def demo_data_command(if_empty: bool):
        """Load the demo brand (idempotent: a second run adds nothing)."""
        if if_empty and not demo.is_empty():
            click.echo("Database already has data; demo data not loaded.")
            return
        added = demo.load_demo_data()
        added["orders"] = demo.load_demo_history()
        click.echo("Demo data: " + ", ".join(f"{k} +{v}" for k, v in added.items()))

    @app.cli.command("demo-logins")
    def demo_logins_command():
        """Print the demo logins."""
        click.echo("\nDemo logins (username / password):")
        for who, username, password in demo.demo_logins():
            click.echo(f"  {username:<8} / {password:<10} {who}")
        click.echo("")

    register_backup_cli(app)


def register_backup_cli(app: Flask) -> None:
    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(path: Path):
        """Back up the whole database to PATH (pg_dump custom format, or an SQLite copy)."""
        from app.services import backups

        try:
            backups.backup(app.config["SQLALCHEMY_DATABASE_URI"], path)
        except backups.BackupError as err:
            raise click.ClickException(str(err)) from err
        click.echo(f"Backed up to {path} ({path.stat().st_size:,} bytes).")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Do not ask: replace the database now.")
    def restore_command(path: Path, yes: bool):
        """Replace the database's contents with the backup at PATH (all or nothing). Stop
        the app first: its processes keep what they cached."""
        from app.extensions import db
        from app.services import backups

        if not yes:
            click.confirm(f"Replace everything in the database with {path}?", abort=True)
        db.engine.dispose()  # hold no connection (and no lock) while the tables are replaced
        try:
            backups.restore(app.config["SQLALCHEMY_DATABASE_URI"], path)
        except backups.BackupError as err:
            raise click.ClickException(str(err)) from err
        click.echo(f"Restored from {path}.")
