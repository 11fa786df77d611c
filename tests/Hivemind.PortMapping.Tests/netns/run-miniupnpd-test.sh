#!/usr/bin/env bash
# Exercises Hivemind's port mapping client against a real miniupnpd (Debian's miniupnpd-nftables) in three
# network namespaces made here and deleted on exit:
#
#   client (LAN 10.217.17.2) --veth-- router (LAN 10.217.17.1 | WAN 198.20.17.1, miniupnpd) --veth-- internet (198.20.17.2)
#
# The namespaces have no link to the host or the outside: every address contacted lives in them. The WAN side
# must look public, because miniupnpd refuses port forwarding on reserved ranges (RFC 1918, TEST-NET, 198.18/15
# benchmarking...); 198.20.17.0/24 exists here only between the two veth ends.
#
# Checks: SSDP multicast discovery, GetExternalIPAddress, AddPortMapping with a lease, a TCP connection from the
# internet side through the mapping, renewal, DeletePortMapping (the DNAT rule is gone and the port refuses), then
# the same over NAT-PMP (RFC 6886) against the same daemon.
#
# With a coordinator build as second argument it also checks the coordinator's side: the Reachability RPC (a
# coordinator on the internet side dials the client's public port back) and `serve --upnp` (maps its port, is
# reachable from the internet side, removes the mapping when stopped).
#
# Usage: run-miniupnpd-test.sh PATH/hivemind-portmap.dll [PATH/Hivemind.Coordinator.dll]
# Exit 0: passed; 77: skipped (reason on the line starting "SKIP:"); anything else: failed.
set -uo pipefail
export PATH="$PATH:/usr/sbin:/sbin" # ip, nft and miniupnpd live there; a non-login environment may lack it

dll=${1:?usage: run-miniupnpd-test.sh PATH/hivemind-portmap.dll [PATH/Hivemind.Coordinator.dll]}
coordinator=${2:-}
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; dump; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "network namespaces need root (running as uid $(id -u))"
for tool in ip nft miniupnpd dotnet; do
  command -v "$tool" >/dev/null 2>&1 || skip "'$tool' is not installed (apt-get install iproute2 nftables miniupnpd-nftables)"
done
[ -f "$dll" ] || fail "no CLI at $dll"

# Namespaces left by a run that was killed (its pid gone) are removed first; names carry the owning pid.
for ns in $(ip netns list 2>/dev/null | awk '/^hm17[rcw]-/{print $1}'); do
  owner=${ns#hm17?-}
  kill -0 "$owner" 2>/dev/null || ip netns del "$ns" 2>/dev/null
done

id=$$
R=hm17r-$id; C=hm17c-$id; W=hm17w-$id
work=$(mktemp -d /tmp/hm17-netns.XXXXXX)
pids=()
cleanup() {
  # Background jobs are started with ip netns exec directly, which execs, so these pids are the daemon and the clients.
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  for ns in "$R" "$C" "$W"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
dump() {
  for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -30 "$f"; }; done
  echo "--- router nft"; ip netns exec "$R" nft list ruleset 2>&1 | tail -40
}

ip netns add "$R" 2>/dev/null || skip "cannot create network namespaces here (ip netns add failed: no CAP_SYS_ADMIN?)"
ip netns add "$C" && ip netns add "$W" || fail "ip netns add"
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

ip link add lan0 netns "$R" type veth peer name eth0 netns "$C" || skip "cannot create veth pairs here"
ip link add wan0 netns "$R" type veth peer name eth0 netns "$W" || fail "veth wan"
nsx "$R" ip addr add 10.217.17.1/24 dev lan0
nsx "$R" ip addr add 198.20.17.1/24 dev wan0
nsx "$C" ip addr add 10.217.17.2/24 dev eth0
nsx "$W" ip addr add 198.20.17.2/24 dev eth0
for ns in "$R" "$C" "$W"; do nsx "$ns" ip link set lo up; done
nsx "$R" ip link set lan0 up; nsx "$R" ip link set wan0 up
nsx "$C" ip link set eth0 up; nsx "$W" ip link set eth0 up
nsx "$C" ip route add default via 10.217.17.1
nsx "$R" ip route add default via 198.20.17.2
nsx "$R" sysctl -qw net.ipv4.ip_forward=1 || fail "ip_forward"

# A home router: the LAN goes out masqueraded; the forward policy drops everything miniupnpd did not open, so a connection through proves the mapping.
cat > "$work/rules.nft" <<'NFT'
table inet filter {
  chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; iifname "lan0" oifname "wan0" accept; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; oifname "wan0" masquerade; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
NFT
nsx "$R" nft -f "$work/rules.nft" 2>"$work/nft.log" || skip "nftables does not work in a namespace here: $(head -1 "$work/nft.log")"

cat > "$work/miniupnpd.conf" <<CONF
ext_ifname=wan0
listening_ip=lan0
http_port=5431
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=yes
notify_interval=60
uuid=3d3c2b1a-1717-4c1a-9e17-000000001717
upnp_table_name=filter
upnp_nat_table_name=filter
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 10.217.17.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
ip netns exec "$R" miniupnpd -f "$work/miniupnpd.conf" -d -P "$work/miniupnpd.pid" >"$work/miniupnpd.log" 2>&1 &
pids+=($!)

# wait_for FILE PATTERN SECONDS: bounded poll for a line.
wait_for() {
  local file=$1 pattern=$2 limit=$3 i
  for ((i = 0; i < limit * 10; i++)); do
    grep -qE "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
wait_for "$work/miniupnpd.log" "HTTP listening on port" 20 || fail "miniupnpd did not start"
echo "ok: miniupnpd $(miniupnpd --version 2>&1 | head -1 | awk '{print $2}') up in the router namespace"

# connect_from_internet PORT: prints the greeting the client's one-connection server sends, or fails.
connect_from_internet() {
  nsx "$W" timeout 10 bash -c "exec 3<>/dev/tcp/198.20.17.1/$1 && head -n 1 <&3" 2>/dev/null
}

# check METHOD PORT: map, connect through, renew, remove, confirm removal.
check() {
  local method=$1 port=$2 log="$work/client-$1.log"
  ip netns exec "$C" dotnet "$dll" map --port "$port" --lifetime 120 --method "$method" --serve-once >"$log" 2>&1 &
  local client=$!
  pids+=($client)
  wait_for "$log" "^listening: " 120 || fail "$method: the client did not map port $port"
  grep -q "^mapped: Tcp 198.20.17.1:$port -> 10.217.17.2:$port via " "$log" || fail "$method: unexpected mapping line: $(grep mapped "$log")"
  echo "ok: $method discovered the router and mapped: $(grep '^mapped:' "$log")"
  nsx "$R" nft list chain inet filter prerouting_miniupnpd | grep "dport $port .*dnat.*10.217.17.2:$port" >/dev/null \
    || fail "$method: no DNAT rule for port $port in the router"
  local greeting
  greeting=$(connect_from_internet "$port") || fail "$method: no TCP connection from the internet side through 198.20.17.1:$port"
  [ "$greeting" = "hello from 10.217.17.2:$port" ] || fail "$method: wrong greeting '$greeting'"
  echo "ok: $method: a TCP connection from 198.20.17.2 reached the client through the mapping"
  wait_for "$log" "^removed: " 60 || fail "$method: the client did not renew and remove the mapping"
  wait "$client" || fail "$method: the client exited with an error"
  grep -q "^renewed: lifetime" "$log" || fail "$method: renewal failed"
  echo "ok: $method: $(grep '^renewed:' "$log")"
  if nsx "$R" nft list chain inet filter prerouting_miniupnpd | grep "dport $port " >/dev/null; then
    fail "$method: the DNAT rule for port $port is still in the router after removal"
  fi
  if connect_from_internet "$port" >/dev/null; then fail "$method: port $port still reachable after removal"; fi
  echo "ok: $method: mapping removed, port $port no longer reachable"
}

check upnp 18080
check natpmp 18081

if [ -z "$coordinator" ] || [ ! -f "$coordinator" ]; then
  echo "skipped: coordinator steps (no Hivemind.Coordinator.dll given)"
  echo "passed: miniupnpd UPnP-IGD and NAT-PMP"
  exit 0
fi

# A coordinator on the internet side answers the client's reachability check.
ip netns exec "$W" dotnet "$coordinator" serve --host 198.20.17.2 --port 5000 --data-directory "$work/coord-wan" >"$work/coordinator-wan.log" 2>&1 &
pids+=($!)
wait_for "$work/coordinator-wan.log" "coordinator for the .* listening on" 120 || fail "the internet-side coordinator did not start"
ip netns exec "$C" dotnet "$dll" map --port 18082 --lifetime 120 --method upnp --check-with http://198.20.17.2:5000 >"$work/client-check.log" 2>&1 \
  || fail "the reachability check through the mapping failed"
grep -q "^reachable: the coordinator connected to 198.20.17.1:18082" "$work/client-check.log" || fail "unexpected verdict: $(grep -E 'reachable' "$work/client-check.log")"
echo "ok: coordinator dialed the client back through its mapping: $(grep '^reachable' "$work/client-check.log")"

# serve --upnp inside the LAN: maps its port, reachable from the internet side, mapping removed on SIGTERM.
ip netns exec "$C" dotnet "$coordinator" serve --host 0.0.0.0 --port 5001 --upnp --data-directory "$work/coord-lan" >"$work/coordinator-lan.log" 2>&1 &
served=$!
pids+=($served)
wait_for "$work/coordinator-lan.log" "public address: http://198.20.17.1:5001" 120 || fail "serve --upnp did not print the public address"
echo "ok: serve --upnp: $(grep -o 'public address: .*' "$work/coordinator-lan.log" | head -1)"
nsx "$W" timeout 10 bash -c "exec 3<>/dev/tcp/198.20.17.1/5001" || fail "serve --upnp: 198.20.17.1:5001 not reachable from the internet side"
echo "ok: serve --upnp: the coordinator is reachable from the internet side"
kill -TERM "$served"
for ((i = 0; i < 300; i++)); do kill -0 "$served" 2>/dev/null || break; sleep 0.1; done
kill -0 "$served" 2>/dev/null && fail "serve --upnp did not stop on SIGTERM within 30 s"
if nsx "$R" nft list chain inet filter prerouting_miniupnpd | grep "dport 5001 " >/dev/null; then
  fail "serve --upnp left its mapping in the router after exit"
fi
echo "ok: serve --upnp: mapping removed on exit"
echo "passed: miniupnpd UPnP-IGD and NAT-PMP, coordinator reachability check and serve --upnp"
