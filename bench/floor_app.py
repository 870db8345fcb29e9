"""The framework floor: a bare Flask app with one route, served like the app (bench/server.py)."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify({"ok": True})
