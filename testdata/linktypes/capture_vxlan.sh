#!/usr/bin/env bash
# Records vxlan_real.pcap (see README.md): two network namespaces of our
# own joined by a veth pair, a Linux VXLAN device (VNI 42, UDP 4789) on
# each, HTTP over the VXLAN addresses, tcpdump on the underlying veth.
# Needs root, ip, tcpdump, curl, python3.
set -euo pipefail
cd "$(dirname "$0")"
A=kwvxa
B=kwvxb
PORT=18431
ip netns add "$A"
ip netns add "$B"
trap 'ip netns del "$A"; ip netns del "$B"' EXIT
ip -n "$A" link add va type veth peer name vb netns "$B"
ip -n "$A" addr add 10.9.0.1/24 dev va
ip -n "$B" addr add 10.9.0.2/24 dev vb
ip -n "$A" link set va up
ip -n "$B" link set vb up
ip -n "$A" link add vx type vxlan id 42 dstport 4789 local 10.9.0.1 remote 10.9.0.2 dev va
ip -n "$B" link add vx type vxlan id 42 dstport 4789 local 10.9.0.2 remote 10.9.0.1 dev vb
ip -n "$A" addr add 192.168.42.1/24 dev vx
ip -n "$B" addr add 192.168.42.2/24 dev vx
ip -n "$A" addr add fd42::1/64 dev vx nodad
ip -n "$B" addr add fd42::2/64 dev vx nodad
ip -n "$A" link set vx up
ip -n "$B" link set vx up
ip netns exec "$B" python3 -c "
import http.server, socket
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        body = b'hello over vxlan\n'
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
ip netns exec "$A" tcpdump -q -i va -w vxlan_real.pcap 2>/dev/null & TD=$!
sleep 2
ip netns exec "$A" curl -s -o /dev/null -o /dev/null "http://192.168.42.2:$PORT/a" "http://192.168.42.2:$PORT/b"
ip netns exec "$A" curl -s -o /dev/null "http://[fd42::2]:$PORT/a"
sleep 2
kill "$TD" "$SERVER"
wait "$TD" || true
