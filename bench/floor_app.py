"""The floor under any app on Ostiary's server: uvicorn, run with Ostiary's options, answering every
request with the same small XML body and doing nothing else. `api_bench.py` measures it beside the two
servers: no IAM server on this HTTP stack can answer faster, whatever its own work costs.

    python bench/floor_app.py PORT
"""

from __future__ import annotations

import sys
from typing import Any

from ostiary.server import answer_lifespan, run_server

BODY = (
    b'<GetUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
    + b" " * 300
    + b"</GetUserResponse>"
)
HEADERS = [(b"content-type", b"text/xml"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


if __name__ == "__main__":
    run_server(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
