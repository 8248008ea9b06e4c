#!/usr/bin/env python3
"""TCP Fast Open generator (Node.js cannot send data in a SYN). Run inside a namespace with net.ipv4.tcp_fastopen=3.

  tfo.py server HOST PORT REPLY     accept connections (TCP_FASTOPEN queue), read each to EOF, answer REPLY bytes,
                                    close. Prints {"listening": true}, then {"conn": i, "received": n}; exits on stdin EOF.
  tfo.py client HOST PORT COUNT N   COUNT connections one after another, each sends N bytes with MSG_FASTOPEN (in the
                                    SYN once the kernel holds a cookie), half-closes, reads to EOF.
                                    Prints {"sent": total, "received": total}.
  tfo.py server-once HOST PORT REPLY abort|close
                                    accept one connection (a Fast Open child, still in SYN_RECV when the client's
                                    ACKs are dropped), read once (the data its SYN carried), then `abort`: close with
                                    SO_LINGER 0 (a reset: SYN_RECV -> CLOSE) or `close`: send REPLY bytes and close
                                    (SYN_RECV -> FIN_WAIT1). Prints {"listening": true}, then {"received": n}.
  tfo.py client-once HOST PORT N    one connection: N bytes with MSG_FASTOPEN, then reads to EOF or a reset.
                                    Prints {"sent": n, "received": n, "reset": bool}.
"""
import json
import select
import socket
import struct
import sys

TCP_FASTOPEN = 23
MSG_FASTOPEN = 0x20000000


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def server(host, port, reply):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 16)
    s.bind((host, port))
    s.listen(64)
    out({"listening": True})
    conn_id = 0
    while True:
        ready, _, _ = select.select([s, sys.stdin], [], [])
        if sys.stdin in ready and not sys.stdin.readline():
            return
        if s in ready:
            c, _ = s.accept()
            received = 0
            while True:
                data = c.recv(65536)
                if not data:
                    break
                received += len(data)
            c.sendall(b"r" * reply)
            c.close()
            out({"conn": conn_id, "received": received})
            conn_id += 1


def client(host, port, count, n):
    sent = received = 0
    payload = b"x" * n
    for _ in range(count):
        c = socket.socket(family_of(host), socket.SOCK_STREAM)
        done = c.sendto(payload, MSG_FASTOPEN, (host, port))
        if done < n:
            c.sendall(payload[done:])
        sent += n
        c.shutdown(socket.SHUT_WR)
        while True:
            data = c.recv(65536)
            if not data:
                break
            received += len(data)
        c.close()
    out({"sent": sent, "received": received})


def server_once(host, port, reply, mode):
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 16)
    s.bind((host, port))
    s.listen(4)
    out({"listening": True})
    c, _ = s.accept()
    received = len(c.recv(65536))
    if mode == "abort":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    else:
        c.sendall(b"r" * reply)
    c.close()
    out({"received": received})
    sys.stdin.readline()  # the listener stays until the test is done


def client_once(host, port, n):
    c = socket.socket(family_of(host), socket.SOCK_STREAM)
    sent = c.sendto(b"x" * n, MSG_FASTOPEN, (host, port))
    received = 0
    reset = False
    try:
        while True:
            data = c.recv(65536)
            if not data:
                break
            received += len(data)
    except ConnectionResetError:
        reset = True
    c.close()
    out({"sent": sent, "received": received, "reset": reset})


if __name__ == "__main__":
    if sys.argv[1] == "server-once":
        server_once(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif sys.argv[1] == "client-once":
        client_once(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
