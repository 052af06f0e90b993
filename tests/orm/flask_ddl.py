"""Prints the DDL Flask-SQLAlchemy emits for Phial's test and app models.

Run with Debian's /usr/bin/python3 (python3-flask-sqlalchemy).  The output,
for each dialect (sqlite, postgresql) and table in the order given below:
"-- <dialect> <table>", then each CREATE statement stripped and ended by ";".
tests/orm/test_ddl.c prints the same from ph_orm_ddl and compares.
"""
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.dialects import postgresql, sqlite
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


TABLES = [User, World, Fortune, Sample, Parent, Child]

for name, dialect in (("sqlite", sqlite.dialect()), ("postgresql", postgresql.dialect())):
    for model in TABLES:
        table = model.__table__
        print("-- %s %s" % (name, table.name))
        print(str(CreateTable(table).compile(dialect=dialect)).strip() + ";")
        for index in sorted(table.indexes, key=lambda i: i.name):
            print(str(CreateIndex(index).compile(dialect=dialect)).strip() + ";")
