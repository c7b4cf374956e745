"""Avatar images at the address `avatar_url` names.

GitHub's "Get the authenticated user" (https://docs.github.com/en/rest/users/users#get-the-authenticated-user)
returns `avatar_url`; github.com serves it from avatars.githubusercontent.com, and GitHub
Enterprise Server without subdomain isolation from its own host under `/avatars/u/{id}` — the
form this simulator (a GHES-style host) uses. The image is a small PNG, one colour per account;
anyone may fetch it (GitHub's avatars need no authentication)."""

from __future__ import annotations

import struct
import zlib

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

SIZE = 8  # GitHub scales with ?s=; a tiny square is enough for a browser to draw


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(rgb: tuple[int, int, int]) -> bytes:
    row = b"\x00" + bytes(rgb) * SIZE  # filter byte 0, then SIZE RGB pixels
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)  # 8-bit truecolour
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(row * SIZE)) + _chunk(b"IEND", b""))  # fmt: skip


async def avatar(request: Request) -> Response:
    account_id = int(request.path_params["account_id"])
    if account_id not in request.app.state.sim.state.accounts:
        return PlainTextResponse("Not Found", status_code=404)
    colour = ((account_id * 67) % 200 + 30, (account_id * 131) % 200 + 30, 160)
    headers = {"Cache-Control": "max-age=300"}
    return Response(png(colour), media_type="image/png", headers=headers)


routes = [Route("/avatars/u/{account_id:int}", avatar, methods=["GET"])]
