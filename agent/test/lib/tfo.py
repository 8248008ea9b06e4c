#!/usr/bin/env python3
"""TCP Fast Open generator (Node.js cannot send data in a SYN). Run inside a namespace with net.ipv4.tcp_fastopen=3.

  tfo.py server HOST PORT REPLY     accept connections (TCP_FASTOPEN queue), read each to EOF, answer REPLY bytes,
                                    close. Prints {"listening": true}, then {"conn": i, "received": n}; exits on stdin EOF.
  tfo.py client HOST PORT COUNT N   COUNT connections one after another, each sends N bytes with MSG_FASTOPEN (in the
                                    SYN once the kernel holds a cookie), half-closes, reads to EOF.
                                    Prints {"sent": total, "received": total}.
"""
import json
import select
import socket
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


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
