# SPDX-License-Identifier: MIT
# Sourced by bench/profile_drain.sh and bench/profile_live.sh: a work folder
# ($work), a private mosquitto on a free loopback port ($port, $url, $mpid)
# that can queue $msgs messages per session, and wait_stored.
py=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/asyncbridge-profile.XXXXXX")
port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=mqtt://127.0.0.1:$port
cat > $work/m.conf <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages $((msgs * 2))
max_queued_bytes 0
memory_limit 0
max_inflight_messages 0
log_dest none
CONF
mosquitto -c $work/m.conf & mpid=$!
sleep 0.3

# wait_stored DB N: returns once the store holds N data messages (events and
# dead letters, the status channel not counted), polling read-only every 5 ms;
# gives up after 600 s.
wait_stored() {
    $py - "$1" "$2" <<'PY'
import sqlite3,sys,time
n=int(sys.argv[2]); db=None; end=time.monotonic()+600
while time.monotonic()<end:
    try:
        if db is None: db=sqlite3.connect("file:%s?mode=ro"%sys.argv[1],uri=True,timeout=1)
        have=db.execute("select coalesce((select max(seq) from events),0)-(select count(*) from events where channel='status')+(select count(*) from dead_letters where coalesce(channel,'')!='status')").fetchone()[0]
    except sqlite3.Error: db=None; have=0
    if have>=n: break
    time.sleep(0.005)
PY
}
