#!/usr/bin/env bash
# Records the loopback captures in this directory (see README.md).
# Needs root, tcpdump, curl, python3. Traffic stays on loopback, port 18431.
set -euo pipefail
cd "$(dirname "$0")"
PORT=18431
python3 - "$PORT" <<'PY' &
import http.server, socket, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"hello from keepwatch testdata\n" * 4
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
S(("::", int(sys.argv[1])), H).serve_forever()
PY
SERVER=$!
sleep 1
F="port $PORT"
tcpdump -q -i any -y LINUX_SLL2 -w sll2.pcap "$F" 2>/dev/null & P1=$!
tcpdump -q -i any -y LINUX_SLL -w sll.pcap "$F" 2>/dev/null & P2=$!
tcpdump -q -i lo -w ethernet.pcap "$F" 2>/dev/null & P3=$!
sleep 2
# Two requests on one connection (reuse), over IPv4 then IPv6.
curl -s -o /dev/null -o /dev/null "http://127.0.0.1:$PORT/a" "http://127.0.0.1:$PORT/b"
curl -s -o /dev/null -o /dev/null "http://[::1]:$PORT/a" "http://[::1]:$PORT/b"
# One UDP datagram: a packet that is not TCP (nobody listens: ICMP
# port unreachable follows, which quotes UDP, not TCP).
python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'not tcp', ('127.0.0.1', $PORT))"
sleep 2
kill "$P1" "$P2" "$P3"
wait "$P1" "$P2" "$P3" || true
kill "$SERVER"
# A snaplen-cut copy: every TCP header (at most 86 bytes here) survives, most
# payload does not.
editcap -F pcap -s 96 ethernet.pcap ethernet_snaplen96.pcap
