"""The Flask side of the CLI interoperability test (tests/cli/test_cli_db.c).

Uses the Flask peer's User model (shared/peers/flask/app.py) with Debian's
/usr/bin/python3 and python3-flask-sqlalchemy:
  flask_interop.py create DBPATH   create_all, then add two users
  flask_interop.py list DBPATH     print "id<TAB>username<TAB>user_email" per user
"""
import os
import sys

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

cmd, path = sys.argv[1], os.path.abspath(sys.argv[2])
app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + path
app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False
db = SQLAlchemy(app)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(100), nullable=False)
    user_email = db.Column(db.String(100), nullable=False)
    user_password = db.Column(db.String(150), nullable=False)


with app.app_context():
    if cmd == "create":
        db.create_all()
        db.session.add(User(username="Alice", user_email="alice@example.com",
                            user_password="pw1"))
        db.session.add(User(username="Bob", user_email="bob@example.com", user_password="pw2"))
        db.session.commit()
    elif cmd == "list":
        for u in User.query.order_by(User.id).all():
            print("%d\t%s\t%s" % (u.id, u.username, u.user_email))
    else:
        sys.exit("unknown command " + cmd)
