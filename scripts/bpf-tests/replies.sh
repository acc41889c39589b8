# shellcheck shell=bash
# Sourced by scripts/test-bpf.sh (its helpers, topology and counters): tests 6k-6q, replies
# (WEFT_CFG_ALLOW_REPLIES) judged by weft_conntrack, which weft_overlay_egress on B's weft0
# fills with what B sends. Policy on B allows no traffic from A's pods (ICMP taken away);
# A has no filters, so B's requests always reach A and only B's filter judges the answers.
#
#   B 10.2.0.10 --- ping, UDP :40100 -> :5000, TCP -> :80 --->  A 10.1.0.10
#               <-- echo replies, UDP 5000 -> 40100, TCP 80 --
#                   (tracked: PASS_REPLY)
#               <-- the same shapes with no connection behind them (DROP_POLICY)

readonly CT_UDP_PORT=40100 CT_TCP_PORT=40200 UNREACH_IN=70

# ctkey SRC DST SPORT DPORT PROTO: a weft_conntrack key (struct weft_ct_key)
ctkey() { echo "$(ip4 "$1") $(ip4 "$2") $(be16 "$3") $(be16 "$4") $(u8 "$5") 00 00 00"; }
# ct_flags SRC DST SPORT DPORT PROTO: the entry's flags as bpftool reads them, or "none"
ct_flags() {
  local out
  # shellcheck disable=SC2046 # the key is a list of hex bytes
  out=$(bpftool -j map lookup pinned "$pins/weft_conntrack" key hex $(ctkey "$@") 2>/dev/null) || { echo none; return; }
  jq -r '.formatted.value.flags' <<<"$out"
}
# flags_set FLAGS MASK: 0 when every bit of MASK is set in FLAGS (a number or "none")
flags_set() { if [ "$1" != none ] && [ $(($1 & $2)) -eq "$2" ]; then echo 0; else echo 1; fi; }
# ct_count SRC DST PROTO: entries from SRC to DST of that protocol
ct_count() {
  bpftool -j map dump pinned "$pins/weft_conntrack" |
    jq --arg s "$(ip4 "$1")" --arg d "$(ip4 "$2")" --argjson p "$3" '[.[] | select(
      ((.key[0:4] | map(ltrimstr("0x")) | join(" ")) == $s) and
      ((.key[4:8] | map(ltrimstr("0x")) | join(" ")) == $d) and
      ((.key[12] | ltrimstr("0x") | tonumber) == $p))] | length'
}
# ct_age SRC DST SPORT DPORT PROTO SECONDS: rewrite the entry as last seen SECONDS ago
# (negative: ahead; CLOCK_MONOTONIC is bpf_ktime_get_ns's clock; waits until the clock is
# old enough)
ct_age() {
  local now then
  now=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))')
  if [ "$now" -le $(($6 * 1000000000 + 1000000000)) ]; then sleep $(($6 + 2 - now / 1000000000)); now=$((now + ($6 + 2) * 1000000000)); fi
  then=$((now - $6 * 1000000000))
  m_set weft_conntrack "$(ctkey "$1" "$2" "$3" "$4" "$5")" "$(le32 $((then & 0xffffffff))) $(le32 $((then >> 32))) $(le32 0) $(le32 0)"
}

# shaped NS KIND SRC SPORT DST DPORT: N hand-made reply-shaped packets: tcp-ack (a bare TCP
# header, ACK set), udp ("weft" from SPORT), echo-reply (8-byte ICMP type 0, id SPORT),
# port-unreachable (ICMP 3/3 quoting a UDP datagram DST:DPORT -> SRC:SPORT, 36 bytes)
shaped() {
  ip netns exec "$1" python3 -c 'import socket, struct, sys
kind, src, sport, dst, dport, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
if kind == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, sport))
    pkt = b"weft"
else:
    proto = socket.IPPROTO_TCP if kind == "tcp-ack" else socket.IPPROTO_ICMP
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    s.bind((src, 0))
    if kind == "tcp-ack":
        pkt = struct.pack("!HHIIBBHHH", sport, dport, 1000, 2000, 5 << 4, 0x10, 65535, 0, 0)
    elif kind == "echo-reply":
        hdr = struct.pack("!BBHHH", 0, 0, 0, sport, 1)
        pkt = struct.pack("!BBHHH", 0, 0, csum(hdr), sport, 1)
    else:  # port-unreachable about UDP dst:dport -> src:sport (what dst sent): type 3 code 3
        inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0, socket.inet_aton(dst), socket.inet_aton(src))
        body = inner + struct.pack("!HHHH", dport, sport, 8, 0)
        pkt = struct.pack("!BBHI", 3, 3, csum(struct.pack("!BBHI", 3, 3, 0, 0) + body), 0) + body
for _ in range(n):
    s.sendto(pkt, (dst, dport if kind == "udp" else 0))' "$2" "$3" "$4" "$5" "$6" "$N"
}

# listening NS u|t ADDR PORT: waits (deadline 10 s) until a socket there is bound, so no
# request meets a closed port (whose ICMP error or RST would be one more packet counted)
listening() {
  local i
  for i in $(seq 100); do
    [ -n "$(ip netns exec "$1" ss -Hl"$2"n src "$3:$4")" ] && return 0
    sleep 0.1
  done
  echo "nothing listens on $3:$4 in $1" >&2
}

# udp_exchange: B sends N datagrams from :CT_UDP_PORT to A:5000, A echoes each; prints
# how many answers B received
udp_exchange() {
  ip netns exec "$ns_a" timeout 10 python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5000))
for _ in range(int(sys.argv[2])):
    data, peer = s.recvfrom(64)
    s.sendto(data, peer)' "$A_POD" "$N" &
  local server=$!
  listening "$ns_a" u "$A_POD" 5000
  ip netns exec "$ns_b" python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[3])))
s.settimeout(1)
got, deadline = 0, time.monotonic() + 8
for i in range(int(sys.argv[4])):
    while time.monotonic() < deadline:   # until the server is up: its first answer
        s.sendto(b"weft", (sys.argv[2], 5000))
        try:
            s.recvfrom(64); got += 1; break
        except socket.timeout:
            pass
print(got)' "$B_POD" "$A_POD" "$CT_UDP_PORT" "$N"
  wait "$server" 2>/dev/null || true
}

# tcp_exchange: B connects from :CT_TCP_PORT to A:80, sends "weft", reads the echo, closes;
# prints what came back
tcp_exchange() {
  ip netns exec "$ns_a" timeout 10 python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 80)); s.listen(1)
c, _ = s.accept(); c.sendall(c.recv(64)); c.close()' "$A_POD" &
  local server=$!
  listening "$ns_a" t "$A_POD" 80
  ip netns exec "$ns_b" python3 -c 'import socket, sys, time
deadline = time.monotonic() + 8
while True:   # until the server listens
    c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind((sys.argv[1], int(sys.argv[3]))); c.settimeout(5)
    try:
        c.connect((sys.argv[2], 80)); break
    except ConnectionRefusedError:
        c.close()
        if time.monotonic() > deadline: raise
        time.sleep(0.2)
c.sendall(b"weft"); print(c.recv(64).decode()); c.close()' "$B_POD" "$A_POD" "$CT_TCP_PORT" || echo "no answer"
  wait "$server" 2>/dev/null || true
}

disallow $ID_A $ID_B $P_ICMP 0

begin
r=$(st ping_none "$ns_b" "$B_POD" "$A_POD")
verdict 6k "weft0: without ALLOW_REPLIES, A's echo replies to B's pings are dropped (no policy from A)" \
  PASS_UPLINK=$N/$((N * PING_OUT)) DROP_POLICY=$N/$((N * PING_IN)) -- "ping-failed:$r"

config $((CFG_ENFORCE | CFG_REPLIES))
begin
r=$(st ping_ok "$ns_b" "$B_POD" "$A_POD")
verdict 6l "weft0: with ALLOW_REPLIES they pass as replies of B's tracked echo requests" \
  PASS_UPLINK=$N/$((N * PING_OUT)) PASS_REPLY=$N/$((N * PING_IN)) -- \
  "ping:$r" "weft_conntrack-holds-B->A-echo:$(is $(($(ct_count "$B_POD" "$A_POD" $P_ICMP) >= 1)) 1)"
begin
r=$(st ping_none "$ns_a" "$A_POD" "$B_POD")
verdict 6m "weft0: ... but A's echo requests to B are not replies and stay dropped" \
  PASS_UPLINK=$N/$((N * PING_OUT)) DROP_POLICY=$N/$((N * PING_IN)) -- "ping-failed:$r"

# the holes of a stateless rule: with B -> A allowed on TCP/80, UDP/5000 and ICMP, these
# would have passed by their reversed tuple
allow $ID_B $ID_A $P_TCP 80
allow $ID_B $ID_A $P_UDP 5000
allow $ID_B $ID_A $P_ICMP 0
begin
shaped "$ns_a" tcp-ack "$A_POD" 80 "$B_POD" 40001
shaped "$ns_a" udp "$A_POD" 5000 "$B_POD" 40002
shaped "$ns_a" echo-reply "$A_POD" 30583 "$B_POD" 0
verdict 6n "weft0: reply-shaped packets of no connection (TCP ACK from :80, UDP from :5000, ICMP echo reply) are dropped" \
  PASS_UPLINK=$((3 * N)) DROP_POLICY=$((3 * N))/$((N * (TCPACK_IN + UDP_IN + ECHOREPLY_IN)))
disallow $ID_B $ID_A $P_TCP 80
disallow $ID_B $ID_A $P_UDP 5000
disallow $ID_B $ID_A $P_ICMP 0

begin
got=$(udp_exchange)
verdict 6o "weft0: A's answers to B's UDP :$CT_UDP_PORT -> :5000 pass as replies" \
  PASS_UPLINK=$N/$((N * UDP_OUT)) PASS_REPLY=$N/$((N * UDP_IN)) -- \
  "answers($got):$(is "$got" "$N")" "entry-replied:$(flags_set "$(ct_flags "$B_POD" "$A_POD" $CT_UDP_PORT 5000 $P_UDP)" 1)"
begin
shaped "$ns_a" udp "$A_POD" 5000 "$B_POD" $CT_UDP_PORT
verdict 6o2 "weft0: ... so does more from A:5000 to that port while the entry lives" \
  PASS_UPLINK=$N PASS_REPLY=$N/$((N * UDP_IN))
# another CPU may stamp an entry after this one read its clock: a last-seen time ahead of
# the program's clock is a live entry (unsigned wrap-around once called it expired)
ct_age "$B_POD" "$A_POD" $CT_UDP_PORT 5000 $P_UDP -5
begin
shaped "$ns_a" udp "$A_POD" 5000 "$B_POD" $CT_UDP_PORT
verdict 6o3 "weft0: ... also when the entry was stamped 5 s ahead of the program's clock (another CPU), and it stays" \
  PASS_UPLINK=$N PASS_REPLY=$N/$((N * UDP_IN)) -- \
  "entry-kept:$([ "$(ct_flags "$B_POD" "$A_POD" $CT_UDP_PORT 5000 $P_UDP)" != none ] && echo 0 || echo 1)"
ct_age "$B_POD" "$A_POD" $CT_UDP_PORT 5000 $P_UDP 61
begin
shaped "$ns_a" udp "$A_POD" 5000 "$B_POD" $CT_UDP_PORT
verdict 6p "weft0: once idle past the UDP timeout (60 s) the same datagrams are dropped and the entry forgotten" \
  PASS_UPLINK=$N DROP_POLICY=$N/$((N * UDP_IN)) -- \
  "entry-gone:$([ "$(ct_flags "$B_POD" "$A_POD" $CT_UDP_PORT 5000 $P_UDP)" = none ] && echo 0 || echo 1)"

begin
answer=$(tcp_exchange)
flags=$(ct_flags "$B_POD" "$A_POD" $CT_TCP_PORT 80 $P_TCP)
verdict 6q "weft0: A's side of B's TCP connection to :80 passes as replies (SYN-ACK, data, FIN)" \
  "PASS_UPLINK>=3" "PASS_REPLY>=3" -- \
  "echoed($answer):$([ "$answer" = weft ] && echo 0 || echo 1)" \
  "entry-replied-fin-both-ways(flags $flags):$(flags_set "$flags" 7)"
begin
shaped "$ns_a" tcp-ack "$A_POD" 80 "$B_POD" $((CT_TCP_PORT + 1))
verdict 6q2 "weft0: ... while an ACK to another port of B is no reply of it and is dropped" \
  PASS_UPLINK=$N DROP_POLICY=$N/$((N * TCPACK_IN))

# ICMP errors quoting a packet B sent are related to its connection (PMTU needs them)
begin
ip netns exec "$ns_b" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[3])))
for _ in range(int(sys.argv[4])):
    s.sendto(b"weft", (sys.argv[2], 5999))' "$B_POD" "$A_POD" $((CT_UDP_PORT + 1)) "$N"
ok=1
for _ in $(seq 50); do # A's kernel answers each datagram with port unreachable
  read_counters; [ $((CP[9] - P0[9])) -ge "$N" ] && { ok=0; break; }; sleep 0.1
done
verdict 6r "weft0: A's ICMP port unreachable for B's UDP to a closed port passes as related" \
  PASS_UPLINK=$N PASS_REPLY=$N/$((N * (UDP_IN + 28))) -- "errors-arrived:$ok"
begin
shaped "$ns_a" port-unreachable "$A_POD" 5999 "$B_POD" 40999
verdict 6r2 "weft0: ... one quoting a datagram B never sent is dropped" \
  PASS_UPLINK=$N DROP_POLICY=$N/$((N * UNREACH_IN))

config $CFG_ENFORCE
allow $ID_A $ID_B $P_ICMP 0
