"""``stratum-assets review``: the label audit's pairs, one at a time, in a small page on loopback.

The page (``review.html``, vanilla JS) gets only the blind pairs: each pair's id and its two cards
in A/B order (``label_audit.blind_pairs``), built here from ``sample.csv`` and ``cards.json`` —
the score, the quintile, the comparison rule and which side is higher never leave this process.
Each answer is one POST; the reviewer's whole file ``reviews/<reviewer>.csv`` is then rewritten
atomically, so a crash or a closed tab loses at most the pair being answered.

Hostile by default: bound to 127.0.0.1 only; a request whose Host is not this server's (DNS
rebinding) or, for a POST, whose Origin is another site or whose body is not JSON, is refused;
bodies and notes are bounded.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Literal

from ..storage.files import write_text_atomic
from ..storage.layout import Layout
from . import label_audit

MAX_BODY = 64 * 1024
MAX_NOTES = 4000


class ReviewStore:
    """The sample, its blind pairs and every reviewer's answers; one lock serialises the writes."""

    def __init__(self, layout: Layout):
        self.layout = layout
        if not layout.label_audit_sample.exists() or not layout.label_audit_cards.exists():
            raise FileNotFoundError(
                f"no label-audit sample in {layout.label_audit}: materialize label_audit_sample "
                "first (`stratum-assets run` builds it once every repository is scanned)"
            )
        self.sample = label_audit.read_sample(layout.label_audit_sample)
        self.key = {p["pair_id"]: p for p in self.sample}
        cards = json.loads(layout.label_audit_cards.read_text())
        self.pairs = label_audit.blind_pairs(self.sample, cards)
        self.reviews = label_audit.read_reviews(layout.label_audit_reviews)
        self.lock = threading.Lock()

    def answers(self, reviewer: str) -> dict[int, dict]:
        with self.lock:
            return {
                pair_id: {"answer": row["answer"], "notes": row["notes"]}
                for pair_id, row in self.reviews.get(reviewer, {}).items()
                if pair_id in self.key
            }

    def progress(self) -> dict[str, int]:
        with self.lock:
            return {name: sum(p in self.key for p in rows) for name, rows in sorted(self.reviews.items())}

    def save(self, reviewer: str, pair_id: int, answer: str, notes: str) -> int:
        """Record one answer and rewrite the reviewer's file atomically; returns the reviewer's answered count."""
        pair = self.key[pair_id]
        with self.lock:
            rows = self.reviews.setdefault(reviewer, {})
            rows[pair_id] = {
                "pair_id": pair_id,
                "a_full_name": pair["a_full_name"],
                "b_full_name": pair["b_full_name"],
                "answer": answer,
                "notes": notes,
                "answered_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            text = label_audit.to_csv([rows[p] for p in sorted(rows)], label_audit.REVIEW_COLUMNS)
            write_text_atomic(text, self.layout.label_audit_review(reviewer))
            return sum(p in self.key for p in rows)


class ReviewServer:
    """The page and its small JSON API on 127.0.0.1:``port`` (0: a free port), in a background thread."""

    def __init__(self, layout: Layout, port: int = 0):
        self.store = ReviewStore(layout)
        self.page = files(__package__).joinpath("review.html").read_bytes()
        handler = type("Handler", (_Handler,), {"review": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="review-server", daemon=True)

    def start(self) -> ReviewServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    review: ReviewServer
    server_version = "stratum-review"

    def log_message(self, *_):  # quiet: the terminal shows the URL, not every request
        pass

    def do_GET(self):
        if not self._trusted_host():
            return
        store = self.review.store
        path = self.path.split("?", 1)[0]
        if path == "/":
            return self._send(HTTPStatus.OK, self.review.page, "text/html; charset=utf-8")
        if path == "/api/pairs":
            return self._json(HTTPStatus.OK, {"total": len(store.pairs), "pairs": store.pairs})
        if path == "/api/reviewers":
            return self._json(HTTPStatus.OK, {"total": len(store.pairs), "reviewers": store.progress()})
        reviewer = self._reviewer(path)
        if reviewer:
            return self._json(HTTPStatus.OK, {"reviewer": reviewer, "answers": store.answers(reviewer)})
        if reviewer is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}"})

    def do_POST(self):
        if not self._trusted_host():
            return
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self._own_origins():
            return self._json(HTTPStatus.FORBIDDEN, {"error": "answers are accepted from the review page only"})
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "send JSON"})
        reviewer = self._reviewer(self.path)
        if not reviewer:
            if reviewer is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": "post answers to /api/reviews/<reviewer>"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            return self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"a body of 1..{MAX_BODY} bytes"})
        try:
            body = json.loads(self.rfile.read(length))
            pair_id, answer, notes = body["pair_id"], body["answer"], body.get("notes") or ""
        except (ValueError, KeyError, TypeError):
            return self._json(HTTPStatus.BAD_REQUEST, {"error": "expected {pair_id, answer, notes}"})
        store = self.review.store
        if not isinstance(pair_id, int) or pair_id not in store.key:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": f"no pair {pair_id!r} in the sample"})
        if answer not in label_audit.ANSWERS:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": "answer is A, B or cannot tell"})
        if not isinstance(notes, str) or len(notes) > MAX_NOTES:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": f"notes are text of at most {MAX_NOTES} characters"})
        answered = store.save(reviewer, pair_id, answer, notes)
        self._json(HTTPStatus.OK, {"answered": answered, "total": len(store.pairs)})

    def _reviewer(self, path: str) -> str | Literal[False] | None:
        """The reviewer of /api/reviews/<reviewer>; None for another path; False (answered 400) for a bad name."""
        prefix = "/api/reviews/"
        if not path.startswith(prefix):
            return None
        name = path[len(prefix) :]
        if not label_audit.REVIEWER_NAME.match(name):
            self._json(
                HTTPStatus.BAD_REQUEST,
                {
                    "error": "a reviewer name is 1-40 lower-case letters, digits, - "
                    "or _, starting with a letter or digit"
                },
            )
            return False
        return name

    def _own_origins(self) -> set[str]:
        port = self.review.port
        return {f"http://127.0.0.1:{port}", f"http://localhost:{port}"}

    def _trusted_host(self) -> bool:
        if f"http://{self.headers.get('Host', '')}" in self._own_origins():
            return True
        self._json(HTTPStatus.FORBIDDEN, {"error": "open the review page as 127.0.0.1 or localhost"})
        return False

    def _json(self, status: HTTPStatus, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)
