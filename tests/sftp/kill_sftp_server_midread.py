#!/usr/bin/env python3
"""sshd ForceCommand for one test: relays SFTP to a real sftp-server and, the first time that server has
sent more than AFTER bytes (a download well under way), SIGKILLs it and ends the session's command, so
the client loses its SFTP channel mid-download. The file named by the first argument says it happened
(every later session is relayed untouched). When the file MARKER.replace holds "FROM TO", FROM is renamed
over TO before the kill (the object replaced on the server between the attempts). Usage: MARKER AFTER."""
import os
import subprocess
import sys
import threading

marker, after = sys.argv[1], int(sys.argv[2])
replace = open(f"{marker}.replace").read().split() if os.path.exists(f"{marker}.replace") else []
server = subprocess.Popen(["/usr/lib/openssh/sftp-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)


def client_to_server():
    while True:
        data = os.read(0, 65536)
        if not data:
            break
        server.stdin.write(data)
    server.stdin.close()


def write_all(data):
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]


threading.Thread(target=client_to_server, daemon=True).start()
armed = not os.path.exists(marker)
sent = 0
while True:
    data = os.read(server.stdout.fileno(), 65536)
    if not data:
        break
    if armed and sent + len(data) > after:
        with open(marker, "w") as f:
            f.write("killed\n")
        if replace:
            os.rename(replace[0], replace[1])
        server.kill()
        os._exit(0)
    write_all(data)
    sent += len(data)
