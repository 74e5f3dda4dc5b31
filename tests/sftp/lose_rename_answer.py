#!/usr/bin/env python3
"""sshd ForceCommand for one test: relays SFTP to sftp-server, and the first time the server answers a
plain SSH_FXP_RENAME onto a *.tar.gz name (the rename is done), drops that answer and kills the sshd
session, so the client sees the connection lost after its commit. The file named by the first argument
says it happened (and makes every later rename go through)."""
import os
import struct
import subprocess
import sys
import threading

SSH_FXP_RENAME = 18
server = subprocess.Popen(["/usr/lib/openssh/sftp-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
watched = []


def packets(stream):
    while True:
        head = stream.read(4)
        while head and len(head) < 4:
            more = stream.read(4 - len(head))
            if not more:
                return
            head += more
        if not head:
            return
        body = b""
        length = struct.unpack(">I", head)[0]
        while len(body) < length:
            more = stream.read(length - len(body))
            if not more:
                return
            body += more
        yield head + body


def client_to_server(marker):
    for pkt in packets(sys.stdin.buffer):
        if pkt[4] == SSH_FXP_RENAME and not os.path.exists(marker):
            from_len = struct.unpack(">I", pkt[9:13])[0]
            to_len = struct.unpack(">I", pkt[13 + from_len:17 + from_len])[0]
            if pkt[17 + from_len:17 + from_len + to_len].endswith(b".tar.gz"):
                watched.append(pkt[5:9])
        server.stdin.write(pkt)
    server.stdin.close()


def kill_session():
    pid = os.getppid()
    while pid > 1:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
        if cmd.startswith(b"sshd: ") and b"listener" not in cmd:
            os.kill(pid, 9)
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])


marker = sys.argv[1]
threading.Thread(target=client_to_server, args=(marker,), daemon=True).start()
for pkt in packets(server.stdout):
    if pkt[5:9] in watched:
        with open(marker, "w") as f:
            f.write("lost\n")
        server.kill()
        kill_session()
        os._exit(0)
    sys.stdout.buffer.write(pkt)
    sys.stdout.buffer.flush()
