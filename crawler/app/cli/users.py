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
from review.auth import ROLES, add_user
from storage.models import User

EXAMPLES = """
coprod users add olena --role admin          # asks for the password twice
coprod users add taras --role analyst
echo "$PASSWORD" | coprod users add bot --role viewer --password-stdin
coprod users list
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "users", "Add and list accounts of the review app.", EXAMPLES)
    parser.add_argument("action", choices=("add", "list"))
    parser.add_argument("name", nargs="?", help="user name (for add)")
    parser.add_argument("--role", choices=ROLES, default="analyst", help="admin, analyst or viewer (default: analyst)")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    engine = catalogue(args, create=True)
    try:
        with Session(engine) as session, session.begin():
            if args.action == "list":
                rows = session.scalars(select(User).order_by(User.name))
                print(table(["name", "role", "created", "active"], [[u.name, u.role, u.created_at.isoformat(timespec="seconds"), u.active] for u in rows]))
                return 0
            if not args.name:
                raise BadInput("coprod users add needs a NAME")
            add_user(session, args.name, args.role, _password(args.password_stdin))
    finally:
        engine.dispose()
    print(f"added {args.name} ({args.role})")
    return 0


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise BadInput("the two passwords differ")
    return first
