#!/usr/bin/env python3
"""Failing TCP connections for the kernel tests (agent/test/kernel/failures.test.ts); prints one JSON line.

  connect HOST PORT COUNT TIMEOUT   COUNT connect() attempts, each given up after TIMEOUT seconds
  reset-server PORT                 accept one connection, read 1000 bytes, close it with a reset (SO_LINGER 0)
  reset-client HOST PORT            connect, send 1000 bytes, wait for the peer's reset
  md5-server PORT PEER SECONDS      listen with a TCP MD5 key for PEER (RFC 2385) for SECONDS: PEER's SYNs carry no
                                    signature, so the kernel drops each after finding this listener (TCP_MD5NOTFOUND)
"""
import errno
import json
import socket
import struct
import sys
import time


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


TCP_MD5SIG = 14


def md5_server(port, peer, seconds):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # struct tcp_md5sig: the peer's sockaddr_storage (128 bytes), flags, prefixlen, keylen, ifindex, key[80]
    addr = struct.pack("=H", socket.AF_INET) + struct.pack("!H", 0) + socket.inet_aton(peer)
    key = b"flowlens"
    sig = addr.ljust(128, b"\0") + struct.pack("=BBHi", 0, 0, len(key), 0) + key.ljust(80, b"\0")
    ls.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, sig)
    ls.bind(("0.0.0.0", port))
    ls.listen(8)
    print(json.dumps({"listening": port}), flush=True)
    time.sleep(seconds)
    ls.close()
    return {"closed": True}


def main(argv):
    mode = argv[1]
    if mode == "connect":
        result = connect(argv[2], int(argv[3]), int(argv[4]), float(argv[5]))
    elif mode == "reset-server":
        result = reset_server(int(argv[2]))
    elif mode == "reset-client":
        result = reset_client(argv[2], int(argv[3]))
    elif mode == "md5-server":
        result = md5_server(int(argv[2]), argv[3], float(argv[4]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv)
