"""Prints the DDL Flask-SQLAlchemy emits for Phial's test and app models.

Run with Debian's /usr/bin/python3 (python3-flask-sqlalchemy).  The output,
for each dialect (sqlite, postgresql) and table in the order given below:
"-- <dialect> <table>", then each CREATE statement stripped and ended by ";".
tests/orm/test_ddl.c prints the same from ph_orm_ddl and compares.
"""
import datetime
from decimal import Decimal

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import CreateEnumType
from sqlalchemy.schema import CreateIndex, CreateTable

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False
db = SQLAlchemy(app)


# The Flask peer's models (shared/peers/flask/app.py).
class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(100), nullable=False)
    user_email = db.Column(db.String(100), nullable=False)
    user_password = db.Column(db.String(150), nullable=False)


class World(db.Model):
    __tablename__ = "world"
    id = db.Column(db.Integer, primary_key=True)
    randomnumber = db.Column(db.Integer, nullable=False, default=0)


class Fortune(db.Model):
    __tablename__ = "fortune"
    id = db.Column(db.Integer, primary_key=True)
    message = db.Column(db.String(2048), nullable=False)


# The pet management system (app/models.c): the peer's three tables, plus
# a one-to-one and a many-to-many in new tables.
class PetHandler(db.Model):
    __tablename__ = "pethandler"
    handler_id = db.Column(db.Integer, primary_key=True)
    handler_name = db.Column(db.String(150), nullable=False)
    pet_category = db.relationship("PetCategory", backref="pet_handler", lazy=True)
    profile = db.relationship("HandlerProfile", backref="handler", uselist=False)


pet_tag = db.Table(
    "pet_tag",
    db.Column("pet_id", db.Integer, db.ForeignKey("petcategory.pet_id"), primary_key=True),
    db.Column("tag_id", db.Integer, db.ForeignKey("tag.tag_id"), primary_key=True))


class PetCategory(db.Model):
    __tablename__ = "petcategory"
    pet_id = db.Column(db.Integer, primary_key=True)
    pet_name = db.Column(db.String(100), nullable=False)
    pet_category = db.Column(db.String(50), nullable=False)
    handler_id = db.Column(db.Integer, db.ForeignKey("pethandler.handler_id"), nullable=False)
    comments = db.relationship("PetComment", backref="pet", cascade="all, delete-orphan")
    tags = db.relationship("Tag", secondary=pet_tag, backref="pets")


class PetComment(db.Model):
    __tablename__ = "petcomment"
    comment_id = db.Column(db.Integer, primary_key=True)
    comment_content = db.Column(db.String(200), nullable=False)
    pet_id = db.Column(db.Integer, db.ForeignKey("petcategory.pet_id"), nullable=False)


class HandlerProfile(db.Model):
    __tablename__ = "handlerprofile"
    profile_id = db.Column(db.Integer, primary_key=True)
    handler_id = db.Column(db.Integer, db.ForeignKey("pethandler.handler_id"), nullable=False,
                           unique=True)
    bio = db.Column(db.String(500))
    phone = db.Column(db.String(30))


class Tag(db.Model):
    __tablename__ = "tag"
    tag_id = db.Column(db.Integer, primary_key=True)
    tag_name = db.Column(db.String(50), nullable=False, unique=True)


# tests/orm/fixture.c
class Sample(db.Model):
    __tablename__ = "sample"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(10), nullable=False, unique=True)
    note = db.Column(db.Text, index=True)
    flag = db.Column(db.Boolean, nullable=False)
    score = db.Column(db.Float)
    created = db.Column(db.DateTime)
    day = db.Column(db.Date)
    data = db.Column(db.LargeBinary)
    big = db.Column(db.BigInteger, default=3)
    order = db.Column(db.Integer)


class Parent(db.Model):
    __tablename__ = "parent"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), nullable=False)


class Child(db.Model):
    __tablename__ = "child"
    id = db.Column(db.Integer, primary_key=True)
    parent_id = db.Column(db.Integer, db.ForeignKey("parent.id", ondelete="CASCADE"),
                          nullable=False)
    code = db.Column(db.String(20), unique=True, index=True)


class Kinds(db.Model):
    __tablename__ = "kinds"
    id = db.Column(db.Integer, primary_key=True)
    price = db.Column(db.Numeric(10, 2), nullable=False, server_default="0")
    tax = db.Column(db.Numeric(5, 4), default=Decimal("0.0825"))
    state = db.Column(db.Enum("todo", "doing", "done", name="todo_state"), nullable=False,
                      default="todo")
    meta = db.Column(db.JSON)
    at = db.Column(db.DateTime(timezone=True), index=True)
    created = db.Column(db.DateTime, nullable=False, default=datetime.datetime.utcnow)
    owner = db.Column(db.Integer, db.ForeignKey("parent.id"), nullable=False)
    label = db.Column(db.String(20), nullable=False, server_default="x'y")
    done = db.Column(db.Boolean, nullable=False, default=False)
    rank = db.Column(db.Integer, nullable=False, server_default="7")
    big = db.Column(db.BigInteger, default=5)
    body = db.Column(db.Text)
    __table_args__ = (db.UniqueConstraint("owner", "label"),)


TABLES = [User, World, Fortune, Sample, Parent, Child,
          PetHandler, PetCategory, PetComment, HandlerProfile, Tag, pet_tag, Kinds]

for name, dialect in (("sqlite", sqlite.dialect()), ("postgresql", postgresql.dialect())):
    for model in TABLES:
        table = getattr(model, "__table__", model)
        print("-- %s %s" % (name, table.name))
        if name == "postgresql":
            for column in table.columns:
                if isinstance(column.type, db.Enum):
                    print(str(CreateEnumType(column.type).compile(dialect=dialect)).strip() + ";")
        print(str(CreateTable(table).compile(dialect=dialect)).strip() + ";")
        for index in sorted(table.indexes, key=lambda i: i.name):
            print(str(CreateIndex(index).compile(dialect=dialect)).strip() + ";")
