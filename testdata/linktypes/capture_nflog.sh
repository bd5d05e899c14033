#!/usr/bin/env bash
# Records nflog_real.pcap (see README.md) in a private network namespace:
# an nftables rule logs the test traffic to NFLOG group 5, and tcpdump
# reads that group. Needs root, ip, nft, tcpdump, curl, python3.
set -euo pipefail
cd "$(dirname "$0")"
NS=kwdecode
PORT=18431
ip netns add "$NS"
trap 'ip netns del "$NS"' EXIT
ip -n "$NS" link set lo up
ip netns exec "$NS" nft add table inet kw
ip netns exec "$NS" nft 'add chain inet kw out { type filter hook output priority 0; }'
ip netns exec "$NS" nft add rule inet kw out tcp dport "$PORT" log group 5
ip netns exec "$NS" nft add rule inet kw out tcp sport "$PORT" log group 5
ip netns exec "$NS" python3 -c "
import http.server, socket
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        body = b'hello from keepwatch testdata\n'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
S(('::', $PORT), H).serve_forever()
" &
SERVER=$!
sleep 1
ip netns exec "$NS" tcpdump -q -i nflog:5 -w nflog_real.pcap 2>/dev/null & TD=$!
sleep 2
ip netns exec "$NS" curl -s -o /dev/null -o /dev/null "http://127.0.0.1:$PORT/a" "http://127.0.0.1:$PORT/b"
ip netns exec "$NS" curl -s -o /dev/null "http://[::1]:$PORT/a"
sleep 2
kill "$TD" "$SERVER"
wait "$TD" || true
