"""In-process entry points: BackgroundProxy (own thread) and ProxyServer (caller's loop)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from harness.proxy.server import BackgroundProxy, ProxyServer
from tests.proxy.helpers import ThreadServer, connect, round_trip


def test_background_proxy_serves_and_stops_everything(echo_server: ThreadServer) -> None:
    with BackgroundProxy() as bp:
        resp = httpx.post(f"{bp.api_url}/proxies", json={"name": "bg", "upstream": f"127.0.0.1:{echo_server.port}"})
        port = int(resp.json()["listen"].rsplit(":", 1)[1])
        sock = connect(port)
        round_trip(sock)
        api_port = bp.server.port
    with sock:  # stopping the server closed the live connection, the listener and the API
        try:
            assert sock.recv(10) == b""
        except ConnectionResetError:
            pass
    with pytest.raises(ConnectionRefusedError):
        connect(port)
    with pytest.raises(ConnectionRefusedError):
        connect(api_port)


def test_proxy_server_in_a_running_loop(echo_server: ThreadServer) -> None:
    async def main() -> dict[str, object]:
        async with ProxyServer(port=0) as server:
            proxy = await server.registry.create({"name": "a", "upstream": f"127.0.0.1:{echo_server.port}"})
            host, port = proxy.listen.rsplit(":", 1)
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"hello")
            assert await reader.readexactly(5) == b"hello"
            writer.close()
            async with httpx.AsyncClient(base_url=server.api_url) as client:
                return (await client.get("/proxies/a")).json()

    body = asyncio.run(main())
    assert body["name"] == "a" and body["metrics"]["bytes_upstream"] == 5  # type: ignore[index]
