"""coprod users: accounts of the review app."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.app.cli.common import catalogue, command_parser
from crawler.app.cli.status import table
from crawler.core.errors import BadInput
from review.auth import MIN_PASSWORD_CHARS, ROLES, add_user, change_user
from storage.models import User

EXAMPLES = f"""
coprod users add olena --role admin          # asks for the password twice
coprod users add taras --role analyst
echo "$PASSWORD" | coprod users add bot --role viewer --password-stdin
coprod users role taras --role viewer        # ends taras's open sessions
coprod users deactivate taras                # ends them too; activate brings the account back
coprod users password olena                  # a new password; ends olena's sessions
coprod users list

A password has at least {MIN_PASSWORD_CHARS} characters and must not be easy to guess (common
passwords, keyboard walks, repeats, the account's name...). Every change is in the audit log,
by the system user who ran the command.
"""
ACTIONS = ("add", "list", "role", "deactivate", "activate", "password")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "users", "Add, change and list accounts of the review app.", EXAMPLES)
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("name", nargs="?", help="user name (for every action but list)")
    parser.add_argument("--role", choices=ROLES, help="admin, analyst or viewer (add: default analyst)")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    engine = catalogue(args, create=args.action == "add")
    by = f"cli:{_system_user()}"
    try:
        with Session(engine) as session, session.begin():
            if args.action == "list":
                rows = session.scalars(select(User).order_by(User.name))
                print(table(["name", "role", "created", "active"], [[u.name, u.role, u.created_at.isoformat(timespec="seconds"), u.active] for u in rows]))
                return 0
            if not args.name:
                raise BadInput(f"coprod users {args.action} needs a NAME")
            if args.action == "add":
                add_user(session, args.name, args.role or "analyst", _password(args.password_stdin), by=by)
                done = f"added {args.name} ({args.role or 'analyst'})"
            elif args.action == "role":
                if not args.role:
                    raise BadInput("coprod users role needs --role")
                change_user(session, args.name, by=by, role=args.role)
                done = f"{args.name} is now {args.role}; their open sessions ended"
            elif args.action == "password":
                change_user(session, args.name, by=by, password=_password(args.password_stdin))
                done = f"changed the password of {args.name}; their open sessions ended"
            else:
                active = args.action == "activate"
                change_user(session, args.name, by=by, active=active)
                done = f"{args.name} is {'active' if active else 'deactivated; their open sessions ended'}"
    finally:
        engine.dispose()
    print(done)
    return 0


def _system_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise BadInput("the two passwords differ")
    return first
