"""The Flask side of the migration adoption test (tests/cli/test_migrate.c).

The Flask peer's models (shared/peers/flask/app.py), with Debian's
/usr/bin/python3 and python3-flask-sqlalchemy:
  flask_migrate.py create DBPATH   create_all, then a user, a handler, a pet, a comment
  flask_migrate.py read DBPATH     print users, pets with their handler, comments
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


class PetHandler(db.Model):
    __tablename__ = "pethandler"
    handler_id = db.Column(db.Integer, primary_key=True)
    handler_name = db.Column(db.String(150), nullable=False)
    pet_category = db.relationship("PetCategory", backref="pet_handler", lazy=True)


class PetCategory(db.Model):
    __tablename__ = "petcategory"
    pet_id = db.Column(db.Integer, primary_key=True)
    pet_name = db.Column(db.String(100), nullable=False)
    pet_category = db.Column(db.String(50), nullable=False)
    handler_id = db.Column(db.Integer, db.ForeignKey("pethandler.handler_id"), nullable=False)


class PetComment(db.Model):
    __tablename__ = "petcomment"
    comment_id = db.Column(db.Integer, primary_key=True)
    comment_content = db.Column(db.String(200), nullable=False)
    pet_id = db.Column(db.Integer, db.ForeignKey("petcategory.pet_id"), nullable=False)


class World(db.Model):
    __tablename__ = "world"
    id = db.Column(db.Integer, primary_key=True)
    randomnumber = db.Column(db.Integer, nullable=False, default=0)


class Fortune(db.Model):
    __tablename__ = "fortune"
    id = db.Column(db.Integer, primary_key=True)
    message = db.Column(db.String(2048), nullable=False)


with app.app_context():
    if cmd == "create":
        db.create_all()
        db.session.add(User(username="Alice", user_email="alice@example.com",
                            user_password="pw1"))
        h = PetHandler(handler_name="Hana")
        db.session.add(h)
        p = PetCategory(pet_name="Rex", pet_category="dog", pet_handler=h)
        db.session.add(p)
        db.session.flush()
        db.session.add(PetComment(comment_content="good dog", pet_id=p.pet_id))
        db.session.commit()
    elif cmd == "read":
        for u in User.query.order_by(User.id).all():
            print("user %d %s" % (u.id, u.username))
        for p in PetCategory.query.order_by(PetCategory.pet_id).all():
            print("pet %d %s of %s" % (p.pet_id, p.pet_name, p.pet_handler.handler_name))
        print("comments %d" % PetComment.query.count())
    else:
        sys.exit("unknown command " + cmd)
