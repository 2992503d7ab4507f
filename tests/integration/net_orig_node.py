#!/usr/bin/env python3
"""An emulation of an original berryMQ node (Python 3 version) as seen on
the wire: HTTP/1.0, one request at a time, the connection closed after every
response, JSON-RPC 1.0 with "id" echoed (null included), connect_oneway
answered with null, an empty queue answered with an error object (queue.Empty),
close_connection a no-op returning "ok", unknown methods answered with an
error. It knows nothing of any extension.

Methods under "test." drive it from the test (they are not part of the
original protocol): test.twitter, test.received, test.connect, test.send,
test.get, test.quit.

Usage: net_orig_node.py  -> prints "port N" once listening on 127.0.0.1.
"""
import http.client
import json
import queue
import sys
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

MY_ADDR = ["127.0.0.1", 0]
connections = {}   # token -> dict(kind=..., addr=..., queue=..., pattern=...)
received = []      # [id, args, kwargs] delivered locally
client = {}        # the connections this node made as a client: kind -> dict


def split(ident):
    name, _, action = ident.partition(":")
    return name, (action or "*")


def matches(pattern, ident):
    pn, pa = split(pattern)
    n, a = split(ident)
    return pn in ("*", n) and pa in ("*", a) or n == "*" and pa in ("*", a)


def call(addr, method, params, path="/JSON"):
    """The original client: id null, an HTTP request per call."""
    conn = http.client.HTTPConnection(addr[0], addr[1], timeout=10)
    body = json.dumps({"id": None, "method": method, "params": params})
    conn.request("POST", path, body, {"Content-Type": "text/xml"})
    resp = json.loads(conn.getresponse().read())
    conn.close()
    if resp["id"] is not None:
        raise RuntimeError("id not echoed")
    if resp["error"] is not None:
        raise RuntimeError(str(resp["error"]))
    return resp["result"]


def twitter_local(ident, args, kwargs, except_token=None):
    received.append([ident, args, kwargs])
    for token, c in list(connections.items()):
        if c["kind"] == "queue" and matches(c["pattern"], ident):
            c["queue"].put([ident, args, kwargs])
        elif c["kind"] == "inter" and token != except_token:
            call(c["addr"], "send_message", [token, ident, args, kwargs])


class Empty(Exception):
    pass


def m_interconnect(addr, token, ttl):
    connections[token] = {"kind": "inter", "addr": tuple(addr)}
    return token


def m_connect_oneway(ttl=1000):
    connections[None] = {"kind": "oneway"}
    return None


def m_connect_via_queue(identifier, ttl):
    token = str(uuid.uuid1())
    connections[token] = {"kind": "queue", "pattern": identifier, "queue": queue.Queue()}
    return token


def m_send_message(token, identifier, args, kwargs):
    if token not in connections:
        return "invalid token"
    twitter_local(identifier, args, kwargs, except_token=token)
    return "ok"


def m_get(token, block, timeout):
    c = connections.get(token)
    if not c or c["kind"] != "queue":
        return "invalid token"
    return c["queue"].get(block, timeout)  # raises queue.Empty


def m_get_nowait(token):
    return m_get(token, False, 0)


def m_close_connection(token, addr=None):
    return "ok"


def t_twitter(ident, args, kwargs):
    twitter_local(ident, args, kwargs)
    return True


def t_received():
    return received


def t_connect(kind, host, port, pattern=None):
    addr = (host, port)
    if kind == "inter":
        token = str(uuid.uuid1())
        call(addr, "interconnect", [MY_ADDR, token, 1000])
        connections[token] = {"kind": "inter", "addr": addr}
    elif kind == "oneway":
        token = call(addr, "connect_oneway", [1000])
    else:
        token = call(addr, "connect_via_queue", [pattern, 1000])
    client[kind] = {"addr": addr, "token": token}
    return token


def t_send(ident, args, kwargs):
    c = client["oneway"]
    return call(c["addr"], "send_message", [c["token"], ident, args, kwargs])


def t_get(block, timeout):
    c = client["queue"]
    return call(c["addr"], "get", [c["token"], block, timeout])


def t_close(kind):
    c = client[kind]
    return call(c["addr"], "close_connection", [c["token"]])


METHODS = {
    "interconnect": m_interconnect, "connect_oneway": m_connect_oneway,
    "connect_via_queue": m_connect_via_queue, "send_message": m_send_message,
    "get": m_get, "get_nowait": m_get_nowait, "close_connection": m_close_connection,
    "test.twitter": t_twitter, "test.received": t_received, "test.connect": t_connect,
    "test.send": t_send, "test.get": t_get, "test.close": t_close,
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        req = json.loads(self.rfile.read(length))
        rid = req.get("id")
        try:
            if req["method"] == "test.quit":
                self.server.quit = True
                result = True
            else:
                fn = METHODS.get(req["method"])
                if fn is None:
                    raise AttributeError("no method " + req["method"])
                result = fn(*req["params"])
            resp = {"id": rid, "result": result, "error": None}
        except queue.Empty:
            resp = {"id": rid, "result": None, "error": {"name": "Empty", "message": ""}}
        except Exception as e:  # the original turns any exception into an error
            resp = {"id": rid, "result": None, "error": {"name": type(e).__name__,
                                                         "message": str(e)}}
        data = json.dumps(resp).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.quit = False
    MY_ADDR[1] = server.server_address[1]
    print("port %d" % MY_ADDR[1], flush=True)
    while not server.quit:
        server.handle_request()
    server.server_close()


if __name__ == "__main__":
    main()
