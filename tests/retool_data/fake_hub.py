"""A local stand-in for the Hugging Face Hub's HTTP API: the edge we do not own, served on 127.0.0.1.

It answers the four calls `huggingface_hub` makes for ``create_repo`` + ``create_commit`` (repo creation, README
YAML validation, preupload, the NDJSON commit), says every file may be committed inline ("regular"), and keeps
what was committed so tests can compare bytes.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml


@dataclass
class HubState:
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, authorization)
    repos: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # "org/name/path" -> content
    commits: list[str] = field(default_factory=list)


def _handler(state: HubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            path = self.path.split("?")[0]
            state.requests.append(("POST", path, self.headers.get("Authorization")))
            base = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
            parts = path.strip("/").split("/")
            if path == "/api/repos/create":
                req = json.loads(raw)
                state.repos.append(req)
                return self._send(200, {"url": f"{base}/datasets/{req['organization']}/{req['name']}"})
            if path == "/api/validate-yaml":
                content = json.loads(raw)["content"]
                try:
                    yaml.safe_load(content.split("---")[1])
                except (yaml.YAMLError, IndexError) as err:
                    return self._send(400, {"errors": [{"message": str(err)}]})
                return self._send(200, {"errors": [], "warnings": []})
            if parts[:2] == ["api", "datasets"] and parts[4] == "preupload":
                files = json.loads(raw)["files"]
                out = [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                    for f in files
                ]
                return self._send(200, {"files": out})
            if parts[:2] == ["api", "datasets"] and parts[4] == "commit":
                repo = "/".join(parts[2:4])
                for line in raw.decode().splitlines():
                    op = json.loads(line)
                    if op["key"] == "header":
                        state.commits.append(op["value"]["summary"])
                    elif op["key"] == "file":
                        state.files[f"{repo}/{op['value']['path']}"] = base64.b64decode(
                            op["value"]["content"]
                        )
                oid = f"{len(state.commits):040x}"
                return self._send(
                    200,
                    {
                        "commitUrl": f"{base}/datasets/{repo}/commit/{oid}",
                        "commitOid": oid,
                        "pullRequestUrl": None,
                    },
                )
            return self._send(404, {"error": f"not faked: {path}"})

        def do_GET(self) -> None:  # noqa: N802
            state.requests.append(("GET", self.path, self.headers.get("Authorization")))
            self._send(404, {"error": f"not faked: {self.path}"})

    return Handler


class FakeHub:
    def __init__(self) -> None:
        self.state = HubState()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
