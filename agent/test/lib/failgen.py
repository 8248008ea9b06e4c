#!/usr/bin/env python3
"""Failing TCP connections for the kernel tests (agent/test/kernel/failures.test.ts); prints one JSON line.

  connect HOST PORT COUNT TIMEOUT   COUNT connect() attempts, each given up after TIMEOUT seconds
  reset-server PORT                 accept one connection, read 1000 bytes, close it with a reset (SO_LINGER 0)
  reset-client HOST PORT            connect, send 1000 bytes, wait for the peer's reset
"""
import errno
import json
import socket
import struct
import sys


def connect(host, port, count, timeout):
    out = {"attempts": 0, "refused": 0, "timeouts": 0, "established": 0, "other": 0}
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        out["attempts"] += 1
        try:
            s.connect((host, port))
            out["established"] += 1
        except ConnectionRefusedError:
            out["refused"] += 1
        except (socket.timeout, TimeoutError):
            out["timeouts"] += 1
        except OSError:
            out["other"] += 1
        s.close()
    return out


def read_exactly(s, n):
    got = 0
    while got < n:
        chunk = s.recv(n - got)
        if not chunk:
            break
        got += len(chunk)
    return got


def reset_server(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    print(json.dumps({"listening": port}), flush=True)
    c, _ = ls.accept()
    got = read_exactly(c, 1000)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    ls.close()
    return {"received": got, "resetsSent": 1}


def reset_client(host, port):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b"x" * 1000)
    try:
        data = s.recv(1)
        return {"reset": False, "eof": data == b""}
    except ConnectionResetError:
        return {"reset": True}
    finally:
        s.close()


def main(argv):
    mode = argv[1]
    if mode == "connect":
        result = connect(argv[2], int(argv[3]), int(argv[4]), float(argv[5]))
    elif mode == "reset-server":
        result = reset_server(int(argv[2]))
    elif mode == "reset-client":
        result = reset_client(argv[2], int(argv[3]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv)
