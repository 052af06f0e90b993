# The same Todo application in Flask + Flask-SQLAlchemy, beside the C one
# for comparison (its lines are counted by tests/lines.sh; it shares
# ../templates).  Run: FLASK_APP=app.py flask run
from datetime import datetime

from flask import Flask, abort, jsonify, redirect, render_template, request, url_for
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__, template_folder="../templates")
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///todo.db"
db = SQLAlchemy(app)

todo_tag = db.Table(
    "todo_tag",
    db.Column("todo_id", db.Integer, db.ForeignKey("todo.id"), primary_key=True),
    db.Column("tag_id", db.Integer, db.ForeignKey("tag.id"), primary_key=True),
)


class Tag(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), nullable=False, unique=True)


class Todo(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(200), nullable=False)
    done = db.Column(db.Boolean, nullable=False, default=False)
    created = db.Column(db.DateTime, nullable=False, default=datetime.utcnow)
    tags = db.relationship("Tag", secondary=todo_tag, backref="todos")

    def to_dict(self):
        return {"id": self.id, "title": self.title, "done": self.done,
                "created": str(self.created), "tags": [t.name for t in self.tags]}


def add_todo(title, tag_names):
    if not title or len(title) > 200:
        abort(400)
    todo = Todo(title=title)
    for name in {n.strip() for n in tag_names if n.strip()}:
        todo.tags.append(Tag.query.filter_by(name=name).first() or Tag(name=name))
    db.session.add(todo)
    db.session.commit()
    return todo


@app.route("/")
def index():
    return render_template("index.html", todos=Todo.query.order_by(Todo.id).all())


@app.route("/todos", methods=["POST"])
def create():
    add_todo(request.form.get("title", "").strip(), request.form.get("tags", "").split(","))
    return redirect(url_for("index"))


@app.route("/todos/<int:id>/toggle", methods=["POST"])
def toggle(id):
    todo = Todo.query.get_or_404(id)
    todo.done = not todo.done
    db.session.commit()
    return redirect(url_for("index"))


@app.route("/todos/<int:id>/delete", methods=["POST"])
def delete(id):
    db.session.delete(Todo.query.get_or_404(id))
    db.session.commit()
    return redirect(url_for("index"))


@app.route("/api/todos")
def api_list():
    return jsonify([t.to_dict() for t in Todo.query.order_by(Todo.id).all()])


@app.route("/api/todos", methods=["POST"])
def api_create():
    data = request.get_json()
    todo = add_todo(str(data.get("title", "")).strip(), data.get("tags", []))
    return jsonify(todo.to_dict()), 201
