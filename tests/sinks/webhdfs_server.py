#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A small WebHDFS server for the tests, written from the Hadoop WebHDFS REST API
(hadoop-project-dist/hadoop-hdfs/WebHDFS.html): a namenode that answers CREATE
with a 307 redirect to a datanode port, a datanode that stores the bytes, MKDIRS,
RENAME, GETFILESTATUS, DELETE, RemoteException error JSON; files live under a
local directory. There is no HDFS on the build machines: sluiced's WebHDFS
client is tested against this server only.

Failure modes a test selects (each for the next N matching requests, then it recovers):
  redirect_refused  CREATE's 307 points at a datanode port nobody listens on
  forbidden         the namenode answers 403 AccessControlException
  error500          the namenode answers 500 (a RetriableException)
  dn_drop           the datanode reads part of the body and drops the connection
  rename_conflict   another file appears at RENAME's destination first: RENAME answers false

usage (stand-alone, for scripts/demo): webhdfs_server.py STORE_DIR [PORT]
"""

import http.server
import json
import os
import shutil
import socket
import socketserver
import sys
import threading
import urllib.parse


def remote_exception(exc, java, msg):
    return {"RemoteException": {"exception": exc, "javaClassName": java, "message": msg}}


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class WebHDFS:
    """A namenode and a datanode on 127.0.0.1; start() then .base = http://127.0.0.1:NN."""

    def __init__(self, store, port=0):
        self.store = store
        os.makedirs(store, exist_ok=True)
        self.lock = threading.Lock()
        self.failures = []      # [mode, remaining]: applied in order
        self.log = []           # (server, method, op, path, status)
        self.users = set()
        self.failed = {}        # mode -> times applied
        outer = self

        class NN(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_PUT(self):
                outer._namenode(self, "PUT")

            def do_GET(self):
                outer._namenode(self, "GET")

            def do_DELETE(self):
                outer._namenode(self, "DELETE")

        class DN(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_PUT(self):
                outer._datanode(self)

        self.nn = _Server(("127.0.0.1", port), NN)
        self.dn = _Server(("127.0.0.1", 0), DN)
        # A port that refuses connections: bound, never listening.
        self._dead = socket.socket()
        self._dead.bind(("127.0.0.1", 0))
        self.dead_port = self._dead.getsockname()[1]
        self.base = "http://127.0.0.1:%d" % self.nn.server_address[1]

    def start(self):
        for s in (self.nn, self.dn):
            threading.Thread(target=s.serve_forever, daemon=True).start()
        return self

    def stop(self):
        for s in (self.nn, self.dn):
            s.shutdown()
            s.server_close()
        self._dead.close()

    def fail(self, mode, count=1):
        with self.lock:
            self.failures.append([mode, count])

    def _take(self, modes):
        """The first pending failure if it is one of `modes` (consumed), else None."""
        with self.lock:
            if self.failures and self.failures[0][0] in modes:
                f = self.failures[0]
                f[1] -= 1
                if f[1] == 0:
                    self.failures.pop(0)
                self.failed[f[0]] = self.failed.get(f[0], 0) + 1
                return f[0]
        return None

    def local(self, path):
        return os.path.join(self.store, path.lstrip("/"))

    def files(self):
        """HDFS paths of every file in the store."""
        out = []
        for d, _, names in os.walk(self.store):
            for n in names:
                out.append("/" + os.path.relpath(os.path.join(d, n), self.store))
        return sorted(out)

    # --- handlers ---

    def _reply(self, h, status, body=None, headers=(), server="nn", op="", path=""):
        data = b"" if body is None else json.dumps(body).encode()
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        if body is not None:
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)
        with self.lock:
            self.log.append((server, h.command, op, path, status))

    def _parse(self, h):
        u = urllib.parse.urlsplit(h.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        path = urllib.parse.unquote(u.path)
        if not path.startswith("/webhdfs/v1"):
            return None, q
        return path[len("/webhdfs/v1"):] or "/", q

    def _drain_body(self, h):
        n = int(h.headers.get("Content-Length") or 0)
        if n:
            h.rfile.read(n)

    def _namenode(self, h, method):
        path, q = self._parse(h)
        op = q.get("op", "").upper()
        self._drain_body(h)
        if path is None:
            return self._reply(h, 404, remote_exception("IllegalArgumentException",
                                                        "java.lang.IllegalArgumentException", "not /webhdfs/v1"))
        user = q.get("user.name") or ("token:" + q["delegation"] if "delegation" in q else None)
        if not user:
            return self._reply(h, 401, remote_exception("SecurityException", "java.lang.SecurityException",
                                                        "Failed to obtain user group information"), op=op, path=path)
        with self.lock:
            self.users.add(user)
        if op in ("CREATE", "MKDIRS", "RENAME"):
            f = self._take(("forbidden", "error500"))
            if f == "forbidden":
                return self._reply(h, 403, remote_exception(
                    "AccessControlException", "org.apache.hadoop.security.AccessControlException",
                    "Permission denied: user=%s, access=WRITE, inode=\"%s\"" % (user, path)), op=op, path=path)
            if f == "error500":
                return self._reply(h, 500, remote_exception(
                    "RetriableException", "org.apache.hadoop.ipc.RetriableException",
                    "NameNode still not started"), op=op, path=path)
        p = self.local(path)
        if method == "PUT" and op == "MKDIRS":
            os.makedirs(p, exist_ok=True)
            return self._reply(h, 200, {"boolean": True}, op=op, path=path)
        if method == "PUT" and op == "CREATE":
            if os.path.exists(p) and q.get("overwrite", "false") != "true":
                return self._reply(h, 403, remote_exception(
                    "FileAlreadyExistsException", "org.apache.hadoop.fs.FileAlreadyExistsException",
                    "%s for client 127.0.0.1 already exists" % path), op=op, path=path)
            port = self.dn.server_address[1]
            if self._take(("redirect_refused",)):
                port = self.dead_port
            loc = "http://127.0.0.1:%d/webhdfs/v1%s?%s" % (
                port, urllib.parse.quote(path), urllib.parse.urlencode(dict(q, namenoderpcaddress="localhost:8020")))
            if q.get("noredirect") == "true":
                return self._reply(h, 200, {"Location": loc}, op=op, path=path)
            return self._reply(h, 307, None, headers=[("Location", loc)], op=op, path=path)
        if method == "PUT" and op == "RENAME":
            dst = q.get("destination", "")
            d = self.local(dst)
            if self._take(("rename_conflict",)):
                os.makedirs(os.path.dirname(d), exist_ok=True)
                with open(d, "wb") as fh:
                    fh.write(b"another writer's file")
            if not os.path.exists(p) or os.path.exists(d) or not dst.startswith("/"):
                return self._reply(h, 200, {"boolean": False}, op=op, path=path)
            os.makedirs(os.path.dirname(d), exist_ok=True)
            os.rename(p, d)
            return self._reply(h, 200, {"boolean": True}, op=op, path=path)
        if method == "GET" and op == "GETFILESTATUS":
            if not os.path.exists(p):
                return self._reply(h, 404, remote_exception(
                    "FileNotFoundException", "java.io.FileNotFoundException", "File does not exist: " + path),
                    op=op, path=path)
            st = os.stat(p)
            return self._reply(h, 200, {"FileStatus": {
                "accessTime": int(st.st_atime * 1000), "blockSize": 134217728, "group": "supergroup",
                "length": 0 if os.path.isdir(p) else st.st_size, "modificationTime": int(st.st_mtime * 1000),
                "owner": user, "pathSuffix": "", "permission": "644", "replication": 3,
                "type": "DIRECTORY" if os.path.isdir(p) else "FILE"}}, op=op, path=path)
        if method == "DELETE" and op == "DELETE":
            ok = os.path.exists(p)
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif ok:
                os.remove(p)
            return self._reply(h, 200, {"boolean": ok}, op=op, path=path)
        return self._reply(h, 400, remote_exception("IllegalArgumentException", "java.lang.IllegalArgumentException",
                                                    "Invalid value for webhdfs parameter \"op\": " + op),
                           op=op, path=path)

    def _datanode(self, h):
        path, q = self._parse(h)
        n = int(h.headers.get("Content-Length") or 0)
        if self._take(("dn_drop",)):
            h.rfile.read(min(n, max(1, n // 2)))
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            with self.lock:
                self.log.append(("dn", "PUT", "CREATE", path, 0))
            return
        data = h.rfile.read(n)
        p = self.local(path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as fh:
            fh.write(data)
        self._reply(h, 201, None, headers=[("Location", "hdfs://localhost:8020" + path)], server="dn",
                    op="CREATE", path=path)


if __name__ == "__main__":
    s = WebHDFS(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0).start()
    print(s.base, flush=True)
    threading.Event().wait()
